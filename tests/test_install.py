"""After `meson install --destdir`, a program builds with `pkg-config --cflags --libs uvcrawl`
alone and crawls a site; the shared library has a versioned soname and exports exactly the
functions include/uvcrawl.h declares (no uvcrawl__ internals, nothing else) and reads no
environment variable."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import sitelib  # noqa: E402

BUILD = os.environ["BUILD_ROOT"]
SRC = os.environ["SOURCE_ROOT"]
SANITIZE = os.environ.get("UVCRAWL_SANITIZED", "none")


def main():
    for tool in ("pkg-config", "cc", "nm", "objdump"):
        if shutil.which(tool) is None:
            print(f"SKIP: {tool} not installed")
            sys.exit(77)
    dest = tempfile.mkdtemp(prefix="uvcrawl-install-")
    try:
        subprocess.run(["meson", "install", "-C", BUILD, "--no-rebuild", "--quiet",
                        "--destdir", dest], check=True, stdout=subprocess.DEVNULL)
        pcs = [os.path.join(d, f) for d, _, fs in os.walk(dest) for f in fs if f == "uvcrawl.pc"]
        assert len(pcs) == 1, f"installed uvcrawl.pc: {pcs}"
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(pcs[0]),
                   PKG_CONFIG_SYSROOT_DIR=dest)
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "uvcrawl"], env=env,
                               check=True, capture_output=True, text=True).stdout.split()
        assert any(f.startswith("-I" + dest) for f in flags), flags
        libdir = next(f[2:] for f in flags if f.startswith("-L"))

        # The soname carries the ABI number and the files are the usual chain.
        real = [f for f in os.listdir(libdir) if re.fullmatch(r"libuvcrawl\.so\.\d+\.\d+\.\d+", f)]
        assert len(real) == 1, os.listdir(libdir)
        dyn = subprocess.run(["objdump", "-p", os.path.join(libdir, real[0])], check=True,
                             capture_output=True, text=True).stdout
        soname = re.search(r"SONAME\s+(\S+)", dyn).group(1)
        assert re.fullmatch(r"libuvcrawl\.so\.\d+", soname), soname
        assert os.path.islink(os.path.join(libdir, soname)), soname
        abi = re.search(r"^abi_version = '(\d+)'", open(os.path.join(SRC, "meson.build")).read(),
                        re.M).group(1)
        assert soname == f"libuvcrawl.so.{abi}", (soname, abi)

        # Exports: exactly the functions the public header declares.
        nm = subprocess.run(["nm", "-D", "--defined-only", os.path.join(libdir, real[0])],
                            check=True, capture_output=True, text=True).stdout
        exported = {l.split()[-1] for l in nm.splitlines() if l.split()[1] in "TtDdBbRrVvWw"}
        exported = {s for s in exported if not s.startswith(("_init", "_fini", "__"))
                    or s.startswith("uvcrawl")}
        header = open(os.path.join(SRC, "include", "uvcrawl.h")).read()
        declared = set(re.findall(r"UVCRAWL_EXTERN[^;]*?\b(uvcrawl_\w+)\s*\(", header, re.S))
        assert declared, "no UVCRAWL_EXTERN declarations found"
        assert not [s for s in exported if s.startswith("uvcrawl__")], exported
        assert exported == declared, (f"exported but not declared: {exported - declared}; "
                                      f"declared but not exported: {declared - exported}")

        # The library reads no environment variable (the CLI and tests set what they need).
        undef = subprocess.run(["nm", "-D", "--undefined-only", os.path.join(libdir, real[0])],
                               check=True, capture_output=True, text=True).stdout.split()
        assert not [s for s in undef if s.split("@")[0] in ("getenv", "secure_getenv")], undef

        # A program built from pkg-config's flags alone, run against the installed library.
        exe = os.path.join(dest, "crawl")
        cflags = ["-fsanitize=address,undefined"] if SANITIZE not in ("none", "") else []
        subprocess.run(["cc", "-std=c11", "-Wall", "-Werror", *cflags,
                        os.path.join(SRC, "examples", "crawl.c"), "-o", exe, *flags],
                       check=True, env=env)
        with sitelib.Site("--pages", 40, "--fanout", 3, "--broken", 10) as site:
            expected = {u for u, _, _ in site.expected()}
            run = subprocess.run([exe, site.root], capture_output=True, text=True, timeout=120,
                                 env=dict(env, LD_LIBRARY_PATH=libdir))
        assert run.returncode == 0, (run.returncode, run.stderr)
        lines = run.stdout.splitlines()
        m = re.fullmatch(r"uvcrawl headers (\S+) \(0x([0-9a-f]{6})\), library (\S+)", lines[0])
        assert m and m.group(1) == m.group(3), lines[0]
        major, minor, patch = (int(x) for x in m.group(1).split("."))
        assert int(m.group(2), 16) == (major << 16) | (minor << 8) | patch, lines[0]
        got = {l.split(" ", 1)[1] for l in lines[1:-1]}
        assert got == expected, f"missing {expected - got}, extra {got - expected}"
        assert lines[-1] == f"done: {len(expected)} pages", lines[-1]
        print(f"installed {soname}, {len(exported)} exports, example crawled {len(got)} URLs")
    finally:
        shutil.rmtree(dest, ignore_errors=True)


if __name__ == "__main__":
    main()
