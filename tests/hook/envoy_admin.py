#!/usr/bin/env python3
"""A stand-in for Envoy's admin interface for the hook tests (Envoy is not packaged in
Debian). Serves <dir>/stats.txt (re-read per request, so a test can change it) on
127.0.0.1 only, answers POST /healthcheck/fail and /drain_listeners with 200, and appends
every request line to <dir>/requests.log. Prints the port it bound. Exits after 120 s."""
import http.server
import sys
import threading

DIR = sys.argv[1]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _record(self):
        with open(f"{DIR}/requests.log", "a") as f:
            f.write(f"{self.command} {self.path}\n")

    def _answer(self, body: bytes):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")  # as Envoy does for /stats
        self.end_headers()
        if body:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(body), body))
        self.wfile.write(b"0\r\n\r\n")
        self.close_connection = True

    def do_GET(self):
        self._record()
        if self.path.startswith("/stats"):
            with open(f"{DIR}/stats.txt", "rb") as f:
                self._answer(f.read())
        else:
            self.send_error(404)

    def do_POST(self):
        self._record()
        if self.path in ("/healthcheck/fail", "/drain_listeners?graceful"):
            self._answer(b"OK\n")
        else:
            self.send_error(404)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
threading.Timer(120, server.shutdown).start()
server.serve_forever()
