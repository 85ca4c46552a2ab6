"""Tiny local HTTP servers for fault injection: one that answers too slowly, one that answers garbage."""

from __future__ import annotations

import json
import socket
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def fake_server(mode: str, delay_s: float = 0.0):
    """mode: 'sleep' (answers after delay_s), 'text' (non-JSON body), 'badjson' (chat completion whose content
    breaks the schema), 'cut' (content cut off mid-JSON). Yields the base URL (…/v1) and a request counter."""
    calls = {"n": 0}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            calls["n"] += 1
            self.rfile.read(int(self.headers.get("content-length", 0)))
            if mode == "sleep":
                time.sleep(delay_s)
            if mode == "text":
                body = b"<html>502 upstream hiccup</html>"
            else:
                content = {"sleep": '{"findings": []}', "badjson": '{"findings": [{"criterion_id": 3}]}',
                           "cut": '{"findings": [{"criterion_id": "x", "verd'}[mode]
                body = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
            try:
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", calls
    finally:
        server.shutdown()
        server.server_close()
