#!/usr/bin/env python3
"""Memory held by idle keep-alive connections, bongsu against Prometheus in the same run.

Each server starts on an empty data directory; then N connections each send one request
(`/-/healthy`, then a query) and stay open, idle; the server's RSS is read from /proc before,
with the connections open, and after they close. N stays under both servers' default
--web.max-connections (512).

    usage: benches/idle_connections.py [--connections N] [--bongsu BIN] [--prometheus BIN]

BIN defaults: target/release/bongsu; `prometheus` on PATH (shared/peers/install.sh's bin/).
Prints a Markdown table.
"""
import argparse
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return float("nan")


def wait_ready(port, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"server on {port} not ready after {timeout} s")


def hold(port, pid, n, path):
    """Opens n connections that each make one request and then idle; RSS with them open and
    after they close."""
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
        socks.append(s)
    for s in socks:
        try:
            s.recv(1 << 16)
        except OSError:
            pass
    time.sleep(2)
    open_rss = rss_mb(pid)
    for s in socks:
        s.close()
    time.sleep(2)
    return open_rss, rss_mb(pid)


def measure(name, argv, port, n):
    work = tempfile.mkdtemp(prefix=f"idle-{name}-")
    log = open(os.path.join(work, "server.log"), "w")
    proc = subprocess.Popen([a.replace("{work}", work) for a in argv], stdout=log, stderr=log)
    try:
        wait_ready(port)
        time.sleep(1)
        base = rss_mb(proc.pid)
        healthy = hold(port, proc.pid, n, "/-/healthy")
        query = hold(port, proc.pid, n, "/api/v1/query?query=up")
        return base, healthy, query
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--connections", type=int, default=500)
    ap.add_argument("--bongsu", default="target/release/bongsu")
    ap.add_argument("--prometheus", default=shutil.which("prometheus") or "prometheus")
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4 * a.connections)), hard))
    rows = []
    for name, binary in [("bongsu", a.bongsu), ("Prometheus", a.prometheus)]:
        port = free_port()
        argv = [binary, "--storage.tsdb.path={work}/data", f"--web.listen-address=127.0.0.1:{port}"]
        if name == "Prometheus":
            cfg = os.path.join(tempfile.mkdtemp(prefix="idle-cfg-"), "prometheus.yml")
            with open(cfg, "w") as f:
                f.write("scrape_configs: []\n")
            argv.append(f"--config.file={cfg}")
        rows.append((name, measure(name, argv, port, a.connections)))
    n = a.connections
    print(f"| {n} idle connections | RSS before, MB | open after `/-/healthy` | closed | "
          f"open after a query | closed | per connection, kB |")
    print("|---|---|---|---|---|---|---|")
    for name, (base, (h_open, h_closed), (q_open, q_closed)) in rows:
        per_conn = (h_open - base) * 1024 / n
        print(f"| {name} | {base:.0f} | {h_open:.0f} | {h_closed:.0f} | {q_open:.0f} | "
              f"{q_closed:.0f} | {per_conn:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
