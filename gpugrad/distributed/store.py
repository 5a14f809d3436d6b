"""A small key-value store over TCP, as PyTorch's ``TCPStore``: rank 0 serves it on MASTER_ADDR:MASTER_PORT,
every rank sets and gets keys. It carries rendezvous data only (NCCL's unique id, setup checks), never
tensors. ``get`` waits for a key that is not there yet, up to the store's timeout."""
from __future__ import annotations

import socket
import struct
import threading
import time

__all__ = ["TCPStore"]

_SET, _GET, _ADD = 1, 2, 3


def _send(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(struct.pack("!Q", len(payload)) + payload)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks = []
    while n:
        chunk = sock.recv(n)
        if not chunk:
            raise ConnectionError("TCPStore: the connection was closed")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _recv(sock: socket.socket) -> bytes:
    (n,) = struct.unpack("!Q", _recv_exact(sock, 8))
    return _recv_exact(sock, n)


class _Server:
    """The store's data and one thread per connected client (a handful: one per rank)."""

    def __init__(self, host: str, port: int) -> None:
        self.data: dict[bytes, bytes] = {}
        self.cond = threading.Condition()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True, name="gpugrad-TCPStore").start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            while True:
                try:
                    msg = _recv(conn)
                except (ConnectionError, OSError):
                    return
                cmd, klen = struct.unpack("!BQ", msg[:9])
                key, value = msg[9 : 9 + klen], msg[9 + klen :]
                if cmd == _SET:
                    with self.cond:
                        self.data[key] = value
                        self.cond.notify_all()
                    _send(conn, b"")
                elif cmd == _ADD:
                    with self.cond:
                        total = int(self.data.get(key, b"0")) + int(value)
                        self.data[key] = str(total).encode()
                        self.cond.notify_all()
                    _send(conn, str(total).encode())
                else:  # _GET: answer once the key exists (the client gives up after its own timeout)
                    with self.cond:
                        while key not in self.data:
                            self.cond.wait()
                        out = self.data[key]
                    _send(conn, out)

    def close(self) -> None:
        self.closed = True
        try:  # wakes the thread blocked in accept(); close() alone leaves the port listening on Linux
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class TCPStore:
    """``TCPStore(host_name, port, world_size=None, is_master=False, timeout=300 s)``: the master serves
    (``port=0`` picks a free port; read it back from ``.port``), everyone is a client."""

    def __init__(self, host_name: str, port: int, world_size: int | None = None, is_master: bool = False,
                 timeout=300.0, wait_for_workers: bool = True) -> None:
        self.timeout = float(timeout.total_seconds() if hasattr(timeout, "total_seconds") else timeout)
        self.world_size = world_size
        self._server = _Server(host_name, port) if is_master else None
        self.host, self.port = host_name, (self._server.port if self._server else int(port))
        self._sock = self._connect()

    def _connect(self) -> socket.socket:
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return sock
            except OSError as exc:  # the master may not be listening yet
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"TCPStore: no store at {self.host}:{self.port} within {self.timeout:g} s "
                        f"(is rank 0 running, and MASTER_ADDR/MASTER_PORT right?): {exc}"
                    ) from exc
                time.sleep(0.05)

    def _ask(self, cmd: int, key: str, value: bytes = b"") -> bytes:
        k = key.encode()
        _send(self._sock, struct.pack("!BQ", cmd, len(k)) + k + value)
        try:
            return _recv(self._sock)
        except socket.timeout as exc:
            raise TimeoutError(f"TCPStore.get: key {key!r} was not set within {self.timeout:g} s") from exc

    def set(self, key: str, value) -> None:
        self._ask(_SET, key, value if isinstance(value, bytes) else str(value).encode())

    def get(self, key: str) -> bytes:
        """The key's value, waiting (up to the timeout) until some rank has set it."""
        return self._ask(_GET, key)

    def add(self, key: str, amount: int) -> int:
        return int(self._ask(_ADD, key, str(int(amount)).encode()))

    def wait(self, keys: list[str]) -> None:
        for key in keys:
            self.get(key)

    def close(self) -> None:
        self._sock.close()
        if self._server is not None:
            self._server.close()
