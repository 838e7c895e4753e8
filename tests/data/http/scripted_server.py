#!/usr/bin/env python3
"""A loopback HTTP/1.1 server with scripted answers, for the HTTP transport's unit tests.

Listens on 127.0.0.1 on a free port and prints the port on the first line of stdout. Exits
on SIGTERM, or by itself when its parent process goes away. Routes (query strings ignored;
<key> separates the request counters of different tests):

  /retry-after/<key>   first request: 429 with Retry-After: 1; then 200
  /flaky/<key>         first two requests: 503; then 200
  /always-503/<key>    always 503
  /garbage             200 with an HTML body
  /status/<code>       <code> with a metav1.Status body
  /echo                200: the method, path, headers, body and client port as JSON
  /api/v1/split        a watch stream whose events are split across chunks, then the end
  /api/v1/gone         a watch stream with one ERROR event (Status code 410)
  /api/v1/hold         a watch stream with one event, then held open until the client leaves
"""

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COUNTS = {}
LOCK = threading.Lock()


def count(path):
    with LOCK:
        COUNTS[path] = COUNTS.get(path, 0) + 1
        return COUNTS[path]


def status_body(code, reason, message):
    return json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                       "message": message, "reason": reason, "code": code})


def event(kind, name):
    return json.dumps({"type": kind, "object": {"kind": "ConfigMap",
                                                "metadata": {"name": name}}}) + "\n"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, body, content_type="application/json", headers=None):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def chunk(self, text):
        data = text.encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def start_stream(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        path = self.path.split("?")[0]
        n = count(path)
        if path.startswith("/retry-after/"):
            if n == 1:
                return self.reply(429, status_body(429, "TooManyRequests", "slow down"),
                                  headers={"Retry-After": "1"})
            return self.reply(200, json.dumps({"ok": True, "count": n}))
        if path.startswith("/flaky/"):
            if n <= 2:
                return self.reply(503, "unavailable", "text/plain")
            return self.reply(200, json.dumps({"ok": True, "count": n}))
        if path.startswith("/always-503/"):
            return self.reply(503, status_body(503, "ServiceUnavailable", "try later"))
        if path == "/garbage":
            return self.reply(200, "<html>this is not json</html>", "text/html")
        if path.startswith("/status/"):
            code = int(path.split("/")[2])
            return self.reply(code, status_body(code, "Conflict", "scripted failure"))
        if path == "/echo":
            return self.reply(200, json.dumps({
                "method": self.command, "path": self.path, "body": body,
                "headers": [[k.lower(), v] for k, v in self.headers.items()],
                "client_port": self.client_address[1]}))
        if path == "/api/v1/split":
            self.start_stream()
            text = event("ADDED", "a") + event("MODIFIED", "a") + event("DELETED", "a")
            for i in range(0, len(text), 7):
                self.chunk(text[i:i + 7])
            return self.chunk("")
        if path == "/api/v1/gone":
            self.start_stream()
            self.chunk(json.dumps({"type": "ERROR", "object": json.loads(status_body(
                410, "Expired", "too old resource version: 1 (50)"))}) + "\n")
            return self.chunk("")
        if path == "/api/v1/hold":
            self.start_stream()
            self.chunk(event("ADDED", "held"))
            try:
                for _ in range(30):
                    time.sleep(2)
                    self.chunk("\n")  # a blank line; a gone client makes this fail
            except OSError:
                pass
            return None
        return self.reply(404, status_body(404, "NotFound", "no route " + path))

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


def watch_parent(parent):
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=watch_parent, args=(os.getppid(),), daemon=True).start()
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
