#!/usr/bin/env python3
"""Load an Alertmanager-compatible server: POST alerts to /api/v2/alerts at a fixed rate
across a number of groups, receive the webhook notifications, and report the achieved rate
and the time from POST to delivery (p50/p99) of each alert's first notification.

Each alert carries its send time in an annotation; the webhook receiver (a thread here)
records the first arrival of each alert. Used by benches/alertmanager_compare.sh.
"""
import argparse
import http.client
import http.server
import json
import threading
import time
import urllib.parse

parser = argparse.ArgumentParser()
parser.add_argument("--target", required=True, help="base URL of the server")
parser.add_argument("--hook-port", type=int, required=True)
parser.add_argument("--rate", type=int, default=10000, help="alerts per second")
parser.add_argument("--groups", type=int, default=1000)
parser.add_argument("--seconds", type=float, default=10)
parser.add_argument("--batch", type=int, default=100, help="alerts per POST")
parser.add_argument("--drain", type=float, default=15, help="seconds to wait for deliveries")
args = parser.parse_args()

arrivals = {}
lock = threading.Lock()


class Hook(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        now = time.time()
        msg = json.loads(body)
        with lock:
            for a in msg.get("alerts", []):
                key = a["labels"].get("id")
                if a.get("status") == "firing" and key not in arrivals:
                    arrivals[key] = now - float(a["annotations"]["sent"])
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


class Server(http.server.ThreadingHTTPServer):
    # The default backlog of 5 drops connection bursts (1,000 groups flush together), and
    # the SYN retransmits then dominate the measured latency.
    request_queue_size = 4096
    daemon_threads = True


server = Server(("127.0.0.1", args.hook_port), Hook)
threading.Thread(target=server.serve_forever, daemon=True).start()

u = urllib.parse.urlparse(args.target)
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
posts_per_sec = args.rate / args.batch
total = int(args.rate * args.seconds)
sent = 0
errors = 0
start = time.time()
while sent < total:
    due = start + sent / args.rate
    delay = due - time.time()
    if delay > 0:
        time.sleep(delay)
    now = time.time()
    batch = [
        {
            "labels": {"alertname": "Load", "group": f"g{(sent + i) % args.groups}", "id": str(sent + i)},
            "annotations": {"sent": repr(now)},
        }
        for i in range(min(args.batch, total - sent))
    ]
    conn.request("POST", "/api/v2/alerts", json.dumps(batch), {"Content-Type": "application/json"})
    resp = conn.getresponse()
    resp.read()
    if resp.status != 200:
        errors += 1
    sent += len(batch)
elapsed = time.time() - start
deadline = time.time() + args.drain
while time.time() < deadline:
    with lock:
        if len(arrivals) >= sent:
            break
    time.sleep(0.1)
with lock:
    lat = sorted(arrivals.values())
server.shutdown()


def pct(p):
    return lat[min(len(lat) - 1, int(p * len(lat)))] if lat else float("nan")


print(json.dumps({
    "posted": sent,
    "post_errors": errors,
    "achieved_rate": round(sent / elapsed),
    "delivered": len(lat),
    "p50_s": round(pct(0.50), 3),
    "p99_s": round(pct(0.99), 3),
    "max_s": round(lat[-1], 3) if lat else None,
}))
