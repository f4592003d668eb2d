"""The demo visitors' phone: a local SMS gateway that the demo server sends one-time codes to.

The embedded demo server runs with ``MPP_OTP_DELIVERY=http`` pointed here, exactly as a
deployment points it at a real SMS/WhatsApp provider; the tour reads each code from this
inbox and types it, as a citizen would read it from their phone.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class DemoPhone:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        phone = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                try:
                    body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                except ValueError:
                    self.send_response(400)
                    self.end_headers()
                    return
                with phone._lock:
                    phone.messages.append(body if isinstance(body, dict) else {})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="demo-phone")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sms"

    def env(self) -> dict[str, str]:
        return {"MPP_OTP_DELIVERY": "http", "MPP_OTP_HTTP_URL": self.url}

    def start(self) -> DemoPhone:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def code_for(self, reference: str, timeout: float = 15.0) -> str | None:
        """The code of the message sent for one challenge (None if it never came)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for msg in reversed(self.messages):
                    if msg.get("reference") == reference:
                        found = re.search(r"\b(\d{6})\b", str(msg.get("text", "")))
                        return found.group(1) if found else None
            time.sleep(0.05)
        return None
