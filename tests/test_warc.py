"""WARC written by warc.c/cdxj.c, read back by a real consumer (warcio, from npm) and checked by
tests/warc-check.mjs: every record parses, every digest verifies, pairs and revisits link up,
the gzip coding of a response is kept, and the CDXJ index equals warcio's and points at each
record. Skips when node or warcio is missing (.ci/install puts warcio in /opt/uvcrawl-node)."""
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zlib

SAMPLE = os.environ["WARC_SAMPLE"]
CHECK = os.environ["WARC_CHECK"]
PREFIX = os.environ.get("WARCIO_PREFIX", "/opt/uvcrawl-node")


def main():
    if shutil.which("node") is None or not os.path.isdir(os.path.join(PREFIX, "node_modules",
                                                                      "warcio")):
        print(f"SKIP: node or warcio (in {PREFIX}) missing")
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="uvcrawl-warc-")
    try:
        for name in ("sample.warc.gz", "sample.warc"):
            warc, cdxj = os.path.join(tmp, name), os.path.join(tmp, name + ".cdxj")
            subprocess.run([SAMPLE, warc, cdxj], check=True)
            out = subprocess.run(["node", CHECK, PREFIX, warc, cdxj], capture_output=True,
                                 text=True, timeout=60)
            assert out.returncode == 0, out.stderr
            summary = json.loads(out.stdout)
            assert summary["counts"] == {"warcinfo": 1, "response": 4, "request": 4,
                                         "revisit": 1}, summary
            assert summary["cdxj"] == 5, summary
            raw = open(warc, "rb").read()
            data = gzip.decompress(raw) if name.endswith(".gz") else raw
            # The gzip-coded response is stored coded: its body is a gzip stream of the page.
            i = data.index(b"WARC-Target-URI: http://127.0.0.1:8080/gz?b=2&a=1")
            body = data[data.index(b"\r\n\r\n", data.index(b"HTTP/1.1 200", i)) + 4:]
            assert body[:2] == b"\x1f\x8b", body[:8]
            assert b"stored compressed" in zlib.decompressobj(31).decompress(body)
            # A corrupted byte inside a block must be caught.
            if not name.endswith(".gz"):
                bad = bytearray(raw)
                k = raw.index(b"compressed page") if b"compressed page" in raw else raw.index(b"not found")
                bad[k] ^= 1
                badf = os.path.join(tmp, "bad.warc")
                open(badf, "wb").write(bad)
                out = subprocess.run(["node", CHECK, PREFIX, badf], capture_output=True,
                                     text=True, timeout=60)
                assert out.returncode == 1 and "digest" in out.stderr, (out.returncode, out.stderr)
            print(name, summary)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
