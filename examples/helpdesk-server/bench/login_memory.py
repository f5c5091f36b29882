#!/usr/bin/env python3
"""Memory of the release server under login load: peak RSS during N concurrent logins and RSS
after M sequential ones, with a read (GET /api/health) timed meanwhile.

    cargo build --release -p helpdesk-server
    python3 examples/helpdesk-server/bench/login_memory.py target/release/helpdesk-server

Each login comes from its own X-Forwarded-For address (the server runs with
HELPDESK_TRUST_PROXY=true), so the per-address throttle does not stop it before the password
is hashed: every request costs a real argon2id hash. Unknown emails, as an attacker would send.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request


def rss_kb(pid, field):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def login(base, i):
    body = json.dumps({"email": f"nobody{i}@example.com", "password": "wrong password"}).encode()
    request = urllib.request.Request(
        f"{base}/api/auth/login",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Forwarded-For": f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/helpdesk-server"
    concurrent = int(os.environ.get("CONCURRENT", "500"))
    sequential = int(os.environ.get("SEQUENTIAL", "1000"))
    work = tempfile.mkdtemp(prefix="helpdesk-login-bench-")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    env = dict(
        os.environ,
        HELPDESK_DATABASE_URL=f"sqlite://{work}/h.db",
        HELPDESK_BIND=f"127.0.0.1:{port}",
        HELPDESK_TRUST_PROXY="true",
        RUST_LOG="error",
    )
    server = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{base}/api/health", timeout=1).read()
                break
            except OSError:
                time.sleep(0.05)
        print(f"RSS at start: {rss_kb(server.pid, 'VmRSS') / 1024:.1f} MiB")

        reads = []
        stop = threading.Event()

        def reader():
            while not stop.is_set():
                t = time.perf_counter()
                urllib.request.urlopen(f"{base}/api/health", timeout=30).read()
                reads.append(time.perf_counter() - t)
                time.sleep(0.05)

        read_thread = threading.Thread(target=reader)
        read_thread.start()
        statuses = {}
        lock = threading.Lock()

        def one(i):
            status = login(base, i)
            with lock:
                statuses[status] = statuses.get(status, 0) + 1

        start = time.perf_counter()
        threads = [threading.Thread(target=one, args=(i,)) for i in range(concurrent)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        took = time.perf_counter() - start
        stop.set()
        read_thread.join()
        reads.sort()
        reads = reads or [0.0]
        print(
            f"{concurrent} concurrent logins in {took:.1f} s: statuses {dict(sorted(statuses.items()))}; "
            f"peak RSS {rss_kb(server.pid, 'VmHWM') / 1024:.1f} MiB; "
            f"health p50 {reads[len(reads) // 2] * 1000:.1f} ms, max {reads[-1] * 1000:.1f} ms"
        )
        start = time.perf_counter()
        for i in range(sequential):
            login(base, 100_000 + i)
        took = time.perf_counter() - start
        print(
            f"{sequential} sequential logins in {took:.1f} s; RSS after: "
            f"{rss_kb(server.pid, 'VmRSS') / 1024:.1f} MiB (peak {rss_kb(server.pid, 'VmHWM') / 1024:.1f} MiB)"
        )
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
