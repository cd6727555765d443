"""The CLI under valgrind, with most features on: no invalid access, no definite leak."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from sitelib import UVCRAWL, Site, check, run_tests  # noqa: E402

TMP = tempfile.mkdtemp(prefix="uvcrawl-vg-")


def test_cli_crawl_is_valgrind_clean():
    with Site("--pages", 300) as site:
        args = ["valgrind", "--error-exitcode=9", "--leak-check=full",
                "--errors-for-leak-kinds=definite,indirect", "-q", UVCRAWL, "-q", "--check",
                "--mirror", os.path.join(TMP, "m"), "--state", os.path.join(TMP, "s"),
                "-o", os.path.join(TMP, "o.jsonl"), "--retries", "1", "--format", "json",
                "--warc", os.path.join(TMP, "w.warc.gz"), "--warc-cdx",
                os.path.join(TMP, "w.cdxj"), site.root]
        p = subprocess.run(args, capture_output=True, text=True, timeout=600)
        check(p.returncode == 1, f"exit {p.returncode} (9 = valgrind found errors): "
                                 f"{p.stderr[-3000:]}")
        check("==" not in p.stderr, f"valgrind said: {p.stderr[-3000:]}")


if __name__ == "__main__":
    run_tests([test_cli_crawl_is_valgrind_clean])
