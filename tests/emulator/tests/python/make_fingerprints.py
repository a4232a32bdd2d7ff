"""Makes tests/emulator/fingerprints/curl_cffi.json: the TLS ClientHello (raw, hex) and its JA4
for each curl_cffi browser profile the reference client (garminconnect 0.3.20) impersonates.

curl_cffi connects to a plain TCP socket of this script on 127.0.0.1 (as `localhost`, so it sends
SNI as it would to Garmin); the script reads the first TLS record and hangs up (curl_cffi's request
then fails, which is expected). The JA4 is computed here, independently of the emulator's Rust
code; the emulator's tests recompute it from the saved bytes and must agree.

Usage: python make_fingerprints.py [OUT.json]      (needs curl_cffi; run by `cargo xtask test`'s
virtualenv: target/interop-venv/bin/python tests/emulator/tests/python/make_fingerprints.py)
Or:    python make_fingerprints.py --check FIXTURE.json   (exit 1 when curl_cffi now makes a
       JA4 the fixture lacks)
"""

import hashlib
import json
import socket
import sys
import threading
from pathlib import Path

from curl_cffi import __version__ as CURL_CFFI_VERSION
from curl_cffi import requests

PROFILES = ["safari_ios", "safari", "chrome", "chrome120"]


def grease(v):
    return v & 0x0F0F == 0x0A0A and (v >> 8) == (v & 0xFF)


def u16s(b):
    return [int.from_bytes(b[i : i + 2], "big") for i in range(0, len(b) - 1, 2)]


def parse(record):
    if record[0] != 0x16 or record[5] != 1:
        raise ValueError("not a ClientHello")
    at = 9
    legacy = int.from_bytes(record[at : at + 2], "big")
    at += 2 + 32
    at += 1 + record[at]
    n = int.from_bytes(record[at : at + 2], "big")
    ciphers = u16s(record[at + 2 : at + 2 + n])
    at += 2 + n
    at += 1 + record[at]
    end = at + 2 + int.from_bytes(record[at : at + 2], "big")
    at += 2
    exts, alpn, versions, sigs = [], [], [], []
    while at < end:
        kind = int.from_bytes(record[at : at + 2], "big")
        length = int.from_bytes(record[at + 2 : at + 4], "big")
        data = record[at + 4 : at + 4 + length]
        at += 4 + length
        exts.append(kind)
        if kind == 0x0010:
            i = 2
            while i < len(data):
                alpn.append(data[i + 1 : i + 1 + data[i]].decode())
                i += 1 + data[i]
        elif kind == 0x002B:
            versions = u16s(data[1 : 1 + data[0]])
        elif kind == 0x000D:
            sigs = u16s(data[2 : 2 + int.from_bytes(data[:2], "big")])
    return legacy, ciphers, exts, alpn, versions, sigs


def h12(text):
    return hashlib.sha256(text.encode()).hexdigest()[:12] if text else "0" * 12


def ja4(record):
    legacy, ciphers, exts, alpn, versions, sigs = parse(record)
    version = max([v for v in versions if not grease(v)] or [legacy])
    vcode = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3"}.get(version, "00")
    ciphers = [c for c in ciphers if not grease(c)]
    exts = [e for e in exts if not grease(e)]
    sni = "d" if 0x0000 in exts else "i"
    first = alpn[0] if alpn else ""
    a = (first[0] + first[-1]) if first else "00"
    b = h12(",".join(f"{c:04x}" for c in sorted(ciphers)))
    c_text = ",".join(f"{e:04x}" for e in sorted(e for e in exts if e not in (0x0000, 0x0010)))
    if sigs:
        c_text += "_" + ",".join(f"{s:04x}" for s in sigs)
    return f"t{vcode}{sni}{min(len(ciphers), 99):02}{min(len(exts), 99):02}{a}_{b}_{h12(c_text)}"


def capture(profile):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]

    def client():
        try:
            requests.get(f"https://localhost:{port}/", impersonate=profile, verify=False, timeout=10)
        except Exception:  # the socket hangs up after the ClientHello
            pass

    thread = threading.Thread(target=client)
    thread.start()
    conn, _ = server.accept()
    data = b""
    while len(data) < 5 or len(data) < 5 + int.from_bytes(data[3:5], "big"):
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    record = data[: 5 + int.from_bytes(data[3:5], "big")]
    conn.close()
    server.close()
    thread.join()
    return {"impersonate": profile, "ja4": ja4(record), "client_hello": record.hex()}


def sample(rounds):
    """Each profile `rounds` times; one entry per distinct JA4 (Chrome pads its ClientHello
    only at some lengths, and the length varies with its random GREASE ECH payload)."""
    seen = {}
    for profile in PROFILES:
        for _ in range(rounds):
            entry = capture(profile)
            seen.setdefault((profile, entry["ja4"]), entry)
    return list(seen.values())


def main():
    args = sys.argv[1:]
    if args[:1] == ["--check"]:
        fixture = json.loads(Path(args[1]).read_text())
        saved = sorted({(p["impersonate"], p["ja4"]) for p in fixture["profiles"]})
        fresh = sorted({(p["impersonate"], p["ja4"]) for p in sample(6)})
        missing = [f for f in fresh if f not in saved]
        print(json.dumps({"saved": saved, "fresh": fresh, "missing": missing}))
        sys.exit(1 if missing else 0)
    profiles = sample(24)
    out = Path(args[0]) if args else Path(__file__).resolve().parents[2] / "fingerprints" / "curl_cffi.json"
    out.write_text(
        json.dumps(
            {
                "made_by": "tests/emulator/tests/python/make_fingerprints.py",
                "curl_cffi": CURL_CFFI_VERSION,
                "profiles": profiles,
            },
            indent=1,
        )
        + "\n"
    )
    for p in profiles:
        print(p["impersonate"], p["ja4"])


if __name__ == "__main__":
    main()
