"""uvcrawl as a meson subproject: a program whose meson.build says subproject('uvcrawl') and
dependency('uvcrawl') configures, builds against the library and runs (meson.override_dependency
in the top-level meson.build makes the dependency() call find it)."""
import os
import shutil
import subprocess
import sys
import tempfile

SRC = os.environ["SOURCE_ROOT"]


def main():
    work = tempfile.mkdtemp(prefix="uvcrawl-subproject-")
    try:
        consumer = os.path.join(work, "consumer")
        shutil.copytree(os.path.join(SRC, "tests", "subproject"), consumer)
        os.mkdir(os.path.join(consumer, "subprojects"))
        # The source tree itself, minus build directories (a symlink would drag them in).
        shutil.copytree(SRC, os.path.join(consumer, "subprojects", "uvcrawl"), symlinks=True,
                        ignore=shutil.ignore_patterns("build*", ".git"))
        build = os.path.join(work, "build")
        setup = subprocess.run(["meson", "setup", build, consumer, "--buildtype=plain"],
                               capture_output=True, text=True)
        assert setup.returncode == 0, setup.stdout[-3000:] + setup.stderr[-3000:]
        comp = subprocess.run(["meson", "compile", "-C", build, "consumer"],
                              capture_output=True, text=True)
        assert comp.returncode == 0, comp.stdout[-3000:] + comp.stderr[-3000:]
        run = subprocess.run([os.path.join(build, "consumer")], capture_output=True, text=True)
        assert run.returncode == 0 and run.stdout.endswith(": EINVAL\n"), (run.returncode,
                                                                            run.stdout)
        print(run.stdout.strip())
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
