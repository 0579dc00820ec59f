"""A TCP proxy in front of a registry that drops the connection mid-request.

Everything is forwarded unchanged until the client sends bytes containing
`cut` (e.g. `b"PUT /v2/"`); then both sides are reset, as when a registry or
the network goes away in the middle of a push. `rewrite=(old, new)` edits
what the client sends (e.g. hide `?mount=` to play a registry without
cross-repository mounts).

    with CuttingProxy(registry.port, b"PUT /v2/") as proxy:
        proxy.host   # "127.0.0.1:PORT" to push to
        proxy.cuts   # how many connections were cut
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from types import TracebackType


class CuttingProxy:
    def __init__(
        self, upstream_port: int, cut: bytes = b"", rewrite: tuple[bytes, bytes] | None = None
    ) -> None:
        self.upstream_port = upstream_port
        self.cut = cut
        self.rewrite = rewrite
        self.cuts = 0
        self.rewrites = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> CuttingProxy:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()
        seen = b""
        try:
            while data := client.recv(65536):
                seen = (seen + data)[-(len(self.cut) + 65536) :]
                if self.cut and self.cut in seen:
                    self.cuts += 1
                    for sock in (client, upstream):  # RST, not a clean close
                        sock.setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                        )
                    break
                if self.rewrite and self.rewrite[0] in data:
                    self.rewrites += data.count(self.rewrite[0])
                    data = data.replace(*self.rewrite)
                upstream.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (client, upstream):
                with contextlib.suppress(OSError):
                    sock.close()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                target.shutdown(socket.SHUT_WR)
