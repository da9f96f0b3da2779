"""A fake HTTP service's /metrics for the browser tier: `http_requests_total` by handler and
code, and the `http_request_duration_seconds` histogram, the series rules/service.yml and the
shipped service-red dashboard read. Counters grow with each scrape, some requests fail (5xx),
so rates, error ratios and latency quantiles all have values.

    python3 fake_service.py PORT
"""

import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

# handler -> (requests per scrape, of which 5xx, latencies' share per bucket)
HANDLERS = {"/api/orders": (20, 1), "/api/users": (10, 0)}
BUCKETS = [("0.05", 0.5), ("0.1", 0.8), ("0.25", 0.95), ("0.5", 0.99), ("1", 1.0), ("+Inf", 1.0)]


class Metrics(BaseHTTPRequestHandler):
    scrapes = 0

    def do_GET(self):
        Metrics.scrapes += 1
        n = Metrics.scrapes
        lines = ["# TYPE http_requests_total counter"]
        for handler, (rate, errors) in HANDLERS.items():
            lines.append(f'http_requests_total{{handler="{handler}",code="200"}} {n * (rate - errors)}')
            lines.append(f'http_requests_total{{handler="{handler}",code="500"}} {n * errors}')
        lines.append("# TYPE http_request_duration_seconds histogram")
        for handler, (rate, _) in HANDLERS.items():
            total = n * rate
            for le, share in BUCKETS:
                lines.append(
                    f'http_request_duration_seconds_bucket{{handler="{handler}",le="{le}"}} {int(total * share)}'
                )
            lines.append(f'http_request_duration_seconds_sum{{handler="{handler}"}} {total * 0.06}')
            lines.append(f'http_request_duration_seconds_count{{handler="{handler}"}} {total}')
        body = ("\n".join(lines) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


HTTPServer(("127.0.0.1", int(sys.argv[1])), Metrics).serve_forever()
