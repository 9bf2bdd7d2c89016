"""An HTTP proxy in front of the S3 server that can replace the store's replies.

It stands for a broken or hostile store at the network edge: requests go to the
real server unchanged (their signatures stay valid, the Host header is kept),
and ``rewrite(method, path, status, headers, body)`` may hand back another
``(status, headers, body)``.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

Reply = tuple[int, dict[str, str], bytes]
Rewrite = Callable[[str, str, int, dict[str, str], bytes], Reply | None]


class ReplyProxy:
    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.rewrite: Rewrite | None = None
        self.rewritten = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                upstream = http.client.HTTPConnection(*proxy.target, timeout=60)
                upstream.request(self.command, self.path, body=body, headers=dict(self.headers.items()))
                resp = upstream.getresponse()
                data = resp.read()
                reply: Reply = (resp.status, {k: v for k, v in resp.getheaders()}, data)
                upstream.close()
                if proxy.rewrite is not None and (new := proxy.rewrite(self.command, self.path, *reply)):
                    proxy.rewritten += 1
                    reply = new
                status, headers, data = reply
                self.send_response(status)
                for key, value in headers.items():
                    if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data) if self.command != "HEAD" else 0))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def truncated_xml(status: int, headers: dict[str, str], body: bytes) -> Reply:
    """The same reply, its XML cut in the middle of a tag."""
    return status, {**headers, "Content-Type": "application/xml"}, body[: max(1, len(body) // 2)] or b"<Err"


def malformed_error(status: int = 500) -> Reply:
    return status, {"Content-Type": "application/xml"}, b"<?xml version='1.0'?><Error><Code>Intern"


def hostile_error(code: str, status: int = 500) -> Reply:
    """A well-formed S3 error whose fields carry what must never be repeated."""
    code = escape(code)
    body = (f"<?xml version='1.0'?><Error><Code>{code}</Code><Message>{code}</Message>"
            f"<Key>{code}</Key><BucketName>{code}</BucketName><Resource>{code}</Resource></Error>")
    return status, {"Content-Type": "application/xml"}, body.encode()
