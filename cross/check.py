#!/usr/bin/env python3
"""Checks the cross-built libraries and wheels with binutils' readelf and nm; exits 1 on a failure.

    check.py [--glibc 2.17] [--android] [--wheel] FILE...

For each ELF shared object (a .so, or the extension inside a .whl):
  - the highest GLIBC_x.y symbol version it needs is at most --glibc (gnu targets only);
  - the defined symbols of its dynamic table are only livekit_* (PyInit_* in a wheel), so an
    app's own OpenSSL, opus or OpenH264 can never be bound to ours or ours to theirs;
  - NEEDED names only the C library family: libc, libm, libdl, libpthread, libgcc_s, the
    dynamic loader (musl's libc.so; bionic's libc.so, libm.so, libdl.so, and on Android liblog.so
    and the NDK's libc++_shared.so);
  - with --android, every LOAD segment is aligned to at least 16 KiB (Android 15 devices with
    16 KB pages refuse anything less).
For a static library (.a): it defines the livekit_* functions and no OpenSSL/BoringSSL names
(ring prefixes its own).
Prints one line per file with its size.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import zipfile

ALLOWED_NEEDED = re.compile(
    r"^(libc\.so(\.6)?|libm\.so(\.6)?|libdl\.so(\.2)?|libpthread\.so\.0|libgcc_s\.so\.1"
    r"|ld-linux[-a-z0-9_]*\.so\.[0-9]+|ld-musl-[a-z0-9_]+\.so\.1)$"
)
# Android adds the NDK's own: its log library (Rust's standard library) and the shared C++ runtime
# that an app bundles anyway (OpenH264's C++; the NDK's `c++_shared`).
ANDROID_NEEDED = re.compile(r"^(liblog\.so|libc\+\+_shared\.so)$")
# Names that would clash with an app's OpenSSL or BoringSSL if they leaked out of the archive.
SSL_NAMES = re.compile(r"^(SSL_|EVP_|OPENSSL_|CRYPTO_|BN_|RSA_|EC_KEY_|X509_)")


def run(*cmd: str) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def version_tuple(v: str) -> tuple:
    return tuple(int(x) for x in v.split("."))


def check_shared(path: str, label: str, glibc: str | None, android: bool, wheel: bool) -> list:
    problems = []
    dyn = run("readelf", "-W", "--dyn-syms", path)
    versions = set(re.findall(r"@GLIBC_([0-9.]+)", dyn))
    if glibc:
        too_new = sorted(v for v in versions if version_tuple(v) > version_tuple(glibc))
        if too_new:
            problems.append(f"needs GLIBC {', '.join(too_new)} (floor {glibc})")
    exported = []
    for line in dyn.splitlines():
        f = line.split()
        # Num: Value Size Type Bind Vis Ndx Name
        if len(f) < 8 or not f[0].endswith(":") or f[6] == "UND" or f[3] in ("SECTION", "FILE"):
            continue
        if f[4] in ("GLOBAL", "WEAK") and f[5] in ("DEFAULT", "PROTECTED"):
            exported.append(f[7].split("@")[0])
    prefix = "PyInit_" if wheel else "livekit_"
    stray = sorted(n for n in exported if not n.startswith(prefix))
    if stray:
        problems.append(f"exports {len(stray)} symbols not {prefix}*: {', '.join(stray[:8])}")
    if not exported:
        problems.append(f"exports no {prefix}* symbol at all")
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", run("readelf", "-W", "-d", path))
    bad = [n for n in needed if not ALLOWED_NEEDED.match(n) and not (android and ANDROID_NEEDED.match(n))]
    if bad:
        problems.append(f"NEEDED beyond the C library: {', '.join(bad)}")
    aligns = []
    if android:
        for line in run("readelf", "-W", "-l", path).splitlines():
            f = line.split()
            if f and f[0] == "LOAD":
                aligns.append(int(f[-1], 16))
        if not aligns or min(aligns) < 16384:
            problems.append(f"LOAD segments aligned to {[hex(a) for a in aligns]}, need 0x4000")
    top = max(versions, key=version_tuple) if versions else "-"
    extra = f", LOAD align {hex(min(aligns))}" if aligns else ""
    print(f"  {label}: {os.path.getsize(path):,} bytes; GLIBC max {top}; exports {len(exported)} "
          f"{prefix}*; NEEDED {' '.join(needed) or '-'}{extra}")
    return problems


def check_static(path: str) -> list:
    # llvm-nm (LLVM_NM, rustup's llvm-tools) reads the fat LTO object and Mach-O members, which
    # binutils' nm lists without their symbols. Mach-O names carry a leading underscore.
    out = run(os.environ.get("LLVM_NM", "nm"), "-g", "--defined-only", "-P", path)
    names = set()
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 2 and f[1] in ("T", "D", "B", "R"):
            names.add(f[0][1:] if f[0].startswith("_") and not f[0].startswith("__") else f[0])
    ssl = sorted(n for n in names if SSL_NAMES.match(n))
    ours = sum(n.startswith("livekit_") for n in names)
    print(f"  {path}: {os.path.getsize(path):,} bytes; {len(names):,} global symbols, {ours} livekit_*")
    problems = [f"defines OpenSSL-like names: {', '.join(ssl[:8])}"] if ssl else []
    if not ours:
        problems.append("defines no livekit_* symbol")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--glibc")
    parser.add_argument("--android", action="store_true")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    failed = False
    for path in args.files:
        if path.endswith(".whl"):
            size = os.path.getsize(path)
            problems = []
            # The 5 MB goal is a target to report (docs/platforms.md), not a failure.
            over = "  (WARN: over the 5 MB goal)" if size > 5 * 1024 * 1024 else ""
            print(f"  {os.path.basename(path)}: {size:,} bytes{over}")
            with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(path) as whl:
                for name in whl.namelist():
                    if re.search(r"\.so(\.|$)", name) and "/" in name:
                        whl.extract(name, tmp)
                        problems += check_shared(os.path.join(tmp, name), name, args.glibc, False, True)
        elif path.endswith(".a"):
            problems = check_static(path)
        else:
            problems = check_shared(path, path, args.glibc, args.android, False)
        for p in problems:
            print(f"FAIL {path}: {p}")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
