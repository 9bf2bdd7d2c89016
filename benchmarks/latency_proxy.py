"""A TCP proxy that delays every byte by a fixed time each way: a remote S3 on loopback.

On one machine an S3 request costs almost nothing but the server's own work, so
the number of requests hardly matters. Behind this proxy each request pays a
round trip (twice the one-way delay) as it would to a store in another machine
room, without limiting bandwidth: data keeps flowing, only later.
"""

from __future__ import annotations

import queue
import socket
import threading
import time

_CHUNK = 256 * 1024


class LatencyProxy:
    """Listens on 127.0.0.1:<port> and forwards to ``target``, ``delay_ms`` late each way."""

    def __init__(self, target_host: str, target_port: int, delay_ms: float):
        self.target = (target_host, target_port)
        self.delay = delay_ms / 1000
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:  # closed
                return
            upstream = socket.create_connection(self.target)
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            ends = threading.Semaphore(0)  # one release per direction that has finished
            self._pipe(client, upstream, ends)
            self._pipe(upstream, client, ends)
            threading.Thread(target=_close_after, args=(ends, client, upstream), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, ends: threading.Semaphore) -> None:
        """Two threads: one receives and stamps chunks, one sends each when it falls due."""
        pending: queue.SimpleQueue[tuple[float, bytes]] = queue.SimpleQueue()

        def receive() -> None:
            while True:
                try:
                    data = src.recv(_CHUNK)
                except OSError:
                    data = b""
                pending.put((time.monotonic() + self.delay, data))
                if not data:
                    return

        def send() -> None:
            while True:
                due, data = pending.get()
                time.sleep(max(0.0, due - time.monotonic()))
                try:
                    if not data:
                        dst.shutdown(socket.SHUT_WR)
                        break
                    dst.sendall(data)
                except OSError:
                    break
            ends.release()

        threading.Thread(target=receive, daemon=True).start()
        threading.Thread(target=send, daemon=True).start()


def _close_after(ends: threading.Semaphore, *socks: socket.socket) -> None:
    for _ in range(2):
        ends.acquire()
    for sock in socks:
        sock.close()
