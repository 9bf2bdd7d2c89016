"""A TCP proxy in front of the S3 server that can cut a connection mid-stream.

Faults a real server cannot produce on demand are injected here, at the network
edge, never by mocking S3 itself.
"""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Callable


class CuttingProxy:
    """Forwards 127.0.0.1:<port> to the target; after ``cut_after(n)`` every
    connection that sends more than ``n`` bytes upstream is dropped (client
    retries included), until ``heal()``. ``flip_byte_at(n)`` damages one byte
    instead: byte ``n`` of the first connection to send that much upstream.
    ``cut_reply_after(n)`` drops every connection whose replies pass ``n`` bytes.
    ``open_gets()`` counts the connections open whose last request is an object's GET
    (no query string: not a listing), ``gets`` every such GET seen. ``answer_with(fn)`` has
    the proxy answer a request itself: ``fn(request)`` gives the raw reply (a broken store's),
    sent before the connection is closed, or None to forward the request; ``fn`` may build it
    from the store's own answer, ``store_answer(request)``. ``closes`` counts the connections
    from the client that ended."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._cut_after: int | None = None
        self._flip_at: int | None = None
        self._cut_reply_after: int | None = None
        self._answer: Callable[[bytes], bytes | None] | None = None
        self.flips = 0
        self.cuts = 0
        self.gets = 0
        self.closes = 0
        self._getting: dict[int, bool] = {}  # per upstream-bound socket: is its last request a GET
        self._lock = threading.Lock()
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def cut_after(self, nbytes: int) -> None:
        with self._lock:
            self._cut_after = nbytes

    def cut_reply_after(self, nbytes: int) -> None:
        with self._lock:
            self._cut_reply_after = nbytes

    def answer_with(self, answer: Callable[[bytes], bytes | None] | None) -> None:
        with self._lock:
            self._answer = answer

    def store_answer(self, request: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        """The store's (status, headers, body) for the raw ``request``, body decoded."""
        with socket.create_connection(self.target) as sock:
            sock.sendall(request)
            resp = http.client.HTTPResponse(sock)
            resp.begin()
            return resp.status, resp.getheaders(), resp.read()

    def flip_byte_at(self, offset: int) -> None:
        with self._lock:
            self._flip_at = offset

    def _maybe_flip(self, data: bytes, sent: int) -> bytes:
        """XOR one byte if this chunk holds the chosen offset (once, for one connection)."""
        with self._lock:
            at = self._flip_at
            if at is None or not sent <= at < sent + len(data):
                return data
            self._flip_at = None
            self.flips += 1
        damaged = bytearray(data)
        damaged[at - sent] ^= 0xFF
        return bytes(damaged)

    def heal(self) -> None:
        with self._lock:
            self._cut_after = self._cut_reply_after = None

    def open_gets(self) -> int:
        with self._lock:
            return sum(self._getting.values())

    def _note_request(self, src: socket.socket, data: bytes) -> None:
        if data[:4] not in (b"GET ", b"HEAD", b"PUT ", b"POST", b"DELE"):
            return  # the middle of a request body
        line = data.split(b"\r\n", 1)[0]
        getting = data.startswith(b"GET ") and b"?" not in line
        with self._lock:
            self._getting[id(src)] = getting
            self.gets += getting

    def _answered(self, request: bytes) -> bytes | None:
        with self._lock:
            answer = self._answer
        return answer(request) if answer is not None and request[:4] in (b"GET ", b"HEAD") else None

    def _take_cut(self, upstream: bool) -> int | None:
        with self._lock:
            return self._cut_after if upstream else self._cut_reply_after

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, upstream: bool) -> None:
        sent = 0
        try:
            while data := src.recv(65536):
                if upstream:
                    self._note_request(src, data)
                    if (reply := self._answered(data)) is not None:
                        src.sendall(reply)
                        return
                limit = self._take_cut(upstream)
                if limit is not None and sent + len(data) > limit:
                    with self._lock:
                        self.cuts += 1
                    if not upstream:
                        dst.sendall(data[: limit - sent])  # the reply up to the limit, then the cut
                    for s in (src, dst):
                        s.shutdown(socket.SHUT_RDWR)
                    return
                dst.sendall(self._maybe_flip(data, sent) if upstream else data)
                sent += len(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._getting.pop(id(src), None)
                self.closes += upstream
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass

    def close(self) -> None:
        self._stopped = True
        self.listener.close()
