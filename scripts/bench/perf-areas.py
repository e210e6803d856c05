#!/usr/bin/env python3
"""Splits a `perf record -g` profile of `kofu serve` into areas of the issuance path (docs/perf/http.md).

Usage: perf script -i perf.data -F comm,tid,ip,sym,dso | scripts/bench/perf-areas.py [CPU_MS_PER_ISSUANCE]

Each sample is given to the first area whose pattern matches any frame of its call chain (leaf to root), in
the order of AREAS below, so kernel time lands with the user code that entered the kernel (a socket write
with HTTP, an fsync with the spool). With the server's CPU per issuance from scripts/bench-http.sh as the
argument, each share is also printed as milliseconds per issuance.
"""
import re
import sys
from collections import Counter

# (area, pattern over a frame's symbol, pattern over its DSO). Swift symbols are mangled: a type's own frames
# start with $s<module><type>, e.g. $s10KofuServer15IssuanceService (a parameter's type also shows in the
# name, further on, so only the start is matched). C functions in the kofu binary are SQLite's (vendored by
# sqlite-nio), llhttp's (c_nio_llhttp) and BoringSSL's.
KOFU = r"kofu"
AREAS = [
    ("render (cairo, zlib, qrencode, our page code)", r"^\$s13KofuRendering",
     r"libcairo|libz\.so|libqrencode|libfreetype|libpixman|libpng"),
    ("seal (KF2 signature)", r"^\$s8KofuSeal|^\$s10KofuServer8SealKeys", None),
    ("spool (encrypt, file write/read/wipe)", r"^\$s10KofuServer(13DocumentSpool|10BlockingIO)", None),
    # OpenSSL is built without frame pointers: its samples seldom show who called it.
    ("OpenSSL (seal signature, spool AES-GCM, SHA-256 digests; caller unknown)", r"^$^", r"libcrypto"),
    ("SQLite engine (vendored C library)", r"^(?!\$s|_?swift|c_nio|CCryptoBoringSSL|__swift|\[unknown\]|_\$s)", KOFU),
    ("SQLite glue (statement cache, binds, row decode, reader pool, writer lock)",
     r"^\$s11KofuStorage(18SQLiteBulkDatabase|20SQLiteBulkConnection|13SQLiteBulkRow|12DirectSQLite|10ReaderPool"
     r"|9AsyncLock|14SQLiteColumns)|^\$s9SQLiteKit|^\$s9SQLiteNIO", None),
    ("PostgreSQL client", r"^\$s11PostgresNIO|^\$s11PostgresKit", None),
    ("SQLKit (building and serializing statements)", r"^\$s6SQLKit", None),
    ("ledger / audit / tax-data logic (KofuStorage)", r"^\$s11KofuStorage", None),
    ("JSON (request parse, duplicate-key scan, answers, content digest)",
     r"^\$s10KofuServer(9JSONValue|17JSONDuplicateKeys|9KioskJSON|17KioskIssueRequest|8FastJSON|16IssuanceResponse"
     r"|14StatusResponse)|^\$s20FoundationEssentials\w*JSON", None),
    ("metrics (swift-metrics, Prometheus)", r"^\$s10Prometheus|^\$s11CoreMetrics|^\$s7Metrics|^\$s10KofuServer7MetricsO", None),
    ("logging", r"^\$s7Logging", None),
    ("issuance service and kiosk controller (other)",
     r"^\$s10KofuServer(15IssuanceService|15KioskController|16AdmissionControl|15LoadedDataCache|13ContentDigest"
     r"|17KioskAvailability)", None),
    ("HTTP (Hummingbird, NIO, HTTP parser, sockets)",
     r"^\$s(11Hummingbird|15HummingbirdCore|7NIOCore|8NIOPosix|7NIOHTTP1|9HTTPTypes|12NIOHTTPTypes|17NIOHTTPTypesHTTP1"
     r"|18_NIODataStructures|9NIOExtras)|^c_nio|^\$s10KofuServer(15SlowClientGuard|17RequestBodyPolicy"
     r"|19RequestIDMiddleware|24UnmatchedRouteMiddleware|10RouteTable)|epoll|tcp_|sock_", None),
    ("other Kofu code", r"^\$s\d+Kofu", None),
    ("Swift concurrency and dispatch (task switches, thread wake-ups)",
     r"swift_task|swift_job|_dispatch|futex|sem_post|schedule|swift::runJob|AsyncTask", r"libswift_Concurrency|libdispatch"),
]
FRAME = re.compile(r"^(.*?)\s*\(([^()]*)\)$")
COMPILED = [(name, re.compile(sym), re.compile(dso) if dso else None) for name, sym, dso in AREAS]


def split(frame):
    """(symbol, dso) of one frame line."""
    m = FRAME.match(frame)
    return (m.group(1), m.group(2)) if m else (frame, "")


def area_of(frames):
    """The area of one sample and the first frame that placed it there."""
    parts = [split(f) for f in frames]
    for name, sym, dso in COMPILED:
        for symbol, lib in parts:
            if name.startswith("SQLite engine"):
                if dso.search(lib) and sym.search(symbol):
                    return name, symbol
            elif sym.search(symbol) or (dso is not None and dso.search(lib)):
                return name, symbol
    return "unattributed (libc and Swift runtime without a Swift caller: mostly cairo's, built without frame pointers)", None


def samples(stream):
    """Yields each sample's frames as "symbol dso" strings."""
    frames = []
    for line in stream:
        line = line.rstrip("\n")
        if not line.strip():
            if frames:
                yield frames
            frames = []
            continue
        if line[0] not in " \t":
            # The sample's header line (comm, tid); its frames follow, one per line.
            frames = []
            continue
        parts = line.strip().split(None, 1)
        frames.append(parts[1] if len(parts) > 1 else parts[0])
    if frames:
        yield frames


def main():
    per_issuance = float(sys.argv[1]) if len(sys.argv) > 1 else None
    counts = Counter()
    total = 0
    for frames in samples(sys.stdin):
        total += 1
        counts[area_of(frames)[0]] += 1
    if total == 0:
        print("no samples")
        return
    print(f"{total} samples")
    for area, n in counts.most_common():
        share = n / total
        ms = f"  {share * per_issuance:6.2f} ms" if per_issuance else ""
        print(f"{share * 100:6.1f} %{ms}  {area}")


if __name__ == "__main__":
    main()
