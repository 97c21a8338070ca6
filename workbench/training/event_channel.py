"""A run's events and control messages between the GUI and its training process(es).

The GUI listens on a loopback socket and starts `workbench train ... --events HOST:PORT`
(under torchrun: one connection per rank). Each side proves it knows the run's secret
(an HMAC of a per-side label with the token the child finds in WORKBENCH_EVENTS_TOKEN;
the token is never on a command line), then the GUI sends the run's spec: the overrides,
the run folder settings and the Trainer callbacks its views want (pickled, and read back through an allow-list of callback classes: the only
pickle on this channel, GUI to child, after both sides proved the secret). From then on
rank 0 sends every Trainer event as one JSON frame (events.py: plain dicts of JSON
values), every rank sends its memory in use once a second, and the GUI sends control
frames: pause, resume, stop, sample (telemetry now). A closed connection (the GUI quit
or died) stops the run cooperatively, so a child never outlives its app for long.

Frames: 4-byte big-endian length, one kind byte (J: JSON, P: pickle), the payload.
This module imports neither torch nor Qt (the CLI connects before importing torch).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import math
import os
import pickle
import queue
import secrets
import socket
import struct
import threading
import time

from workbench.training.callbacks import Callback

__all__ = ["TOKEN_ENV", "ChannelError", "EventServer", "ChannelClient", "connect", "join"]

TOKEN_ENV = "WORKBENCH_EVENTS_TOKEN"
MAX_FRAME = 64 * 2**20  # an evaluation of a large validation set is the biggest event
MEMORY_EVERY_S = 1.0
CONTROLS = ("pause", "resume", "stop", "sample")
_HEADER = struct.Struct(">IB")


class ChannelError(Exception):
    """The channel could not be set up (bad address, wrong secret, the GUI went away)."""


def _proof(token: bytes, label: str) -> str:
    return hmac.new(token, label.encode(), hashlib.sha256).hexdigest()


def _plain(value):
    """JSON for what an event may hold besides JSON values (numpy scalars and arrays)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not an event value")


def _finite(value):
    """NaN and Inf as None, the way events.py says a non-finite figure is sent."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def encode_json(obj) -> bytes:
    try:
        return json.dumps(obj, allow_nan=False, default=_plain).encode()
    except ValueError:  # a NaN loss, an Inf metric
        return json.dumps(_finite(json.loads(json.dumps(obj, default=_plain))), allow_nan=False).encode()


def send_frame(sock: socket.socket, kind: bytes, payload: bytes) -> None:
    sock.sendall(_HEADER.pack(len(payload), kind[0]) + payload)


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def recv_frame(sock: socket.socket) -> tuple[bytes, bytes] | None:
    """(kind, payload), or None when the peer closed; oversized frames end the connection."""
    header = _recv_exact(sock, _HEADER.size)
    if header is None:
        return None
    length, kind = _HEADER.unpack(header)
    if length > MAX_FRAME:
        raise ChannelError(f"a {length}-byte frame is over the {MAX_FRAME}-byte limit")
    payload = _recv_exact(sock, length)
    return None if payload is None else (bytes([kind]), payload)


def _recv_json(sock: socket.socket):
    frame = recv_frame(sock)
    if frame is None or frame[0] != b"J":
        return None
    return json.loads(frame[1])


# ---- the GUI's side ---------------------------------------------------------------------------
class EventServer:
    """Listens for the run's processes; their events land on `events` (a thread-safe queue).

    `spec` (JSON values) and `callbacks` (picklable Trainer callbacks) go to every rank
    that connects. Reading happens on daemon threads that only decode and enqueue.
    """

    def __init__(self, spec: dict, callbacks=()) -> None:
        self.token = secrets.token_bytes(32)
        self.spec_frame = pickle.dumps({"spec": spec, "callbacks": list(callbacks)})
        self.events: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._conns: dict[int, socket.socket] = {}
        self._closed = False
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.25)
        self.address = "127.0.0.1:%d" % self._listener.getsockname()[1]
        self._threads = [threading.Thread(target=self._accept, name="run-events-accept", daemon=True)]
        self._threads[0].start()

    def environment(self) -> dict[str, str]:
        return {TOKEN_ENV: self.token.hex()}

    @property
    def ranks(self) -> list[int]:
        with self._lock:
            return sorted(self._conns)

    def send_control(self, what: str) -> None:
        """Tell every rank (pause/stop must reach all of them); a gone rank is skipped."""
        frame = encode_json({"control": what})
        with self._lock:
            conns = list(self._conns.values())
        for conn in conns:
            try:
                send_frame(conn, b"J", frame)
            except OSError:
                pass

    def close(self) -> None:
        with self._lock:
            self._closed = True
            conns, self._conns = list(self._conns.values()), {}
        self._listener.close()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def join(self, timeout: float = 2.0) -> None:
        """Wait for the readers to take in what the processes sent before they ended."""
        deadline = time.monotonic() + timeout
        for thread in list(self._threads[1:]):
            thread.join(max(0.0, deadline - time.monotonic()))

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), name="run-events", daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(10.0)  # the handshake; then block for as long as the run lasts
        try:
            hello = _recv_json(conn)
            if not isinstance(hello, dict) or not isinstance(hello.get("rank"), int) or not hmac.compare_digest(
                    str(hello.get("proof", "")), _proof(self.token, "child")):
                conn.close()
                return
            rank = hello["rank"]
            send_frame(conn, b"J", encode_json({"proof": _proof(self.token, "gui")}))
            send_frame(conn, b"P", self.spec_frame)
            conn.settimeout(None)
            with self._lock:
                if self._closed:
                    conn.close()
                    return
                self._conns[rank] = conn
            while True:
                frame = recv_frame(conn)
                if frame is None:
                    break
                if frame[0] != b"J":
                    break
                ev = json.loads(frame[1])
                if isinstance(ev, dict) and isinstance(ev.get("event"), str) and (rank == 0 or ev["event"] == "memory"):
                    self.events.put(ev)
        except (OSError, ChannelError, ValueError, UnicodeDecodeError):
            pass
        finally:
            with self._lock:
                if self._conns.get(locals().get("rank", -1)) is conn:
                    del self._conns[rank]
            conn.close()


# ---- the training process's side ----------------------------------------------------------------
class ChannelClient:
    """One rank's connection: the spec it was sent, its control thread and its event sender."""

    def __init__(self, sock: socket.socket, rank: int, spec: dict, callbacks: list) -> None:
        self.sock = sock
        self.rank = rank
        self.spec = spec
        self.callbacks = callbacks
        self.control = None  # a RunControl, once commands.train has one
        self._early: list[str] = []  # control messages that came before it
        self._lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._read_control, name="run-control", daemon=True).start()

    def attach(self, control) -> None:
        with self._lock:
            self.control = control
            early, self._early = self._early, []
        for what in early:
            self._apply(what)

    def send(self, ev: dict) -> None:
        if self.closed:
            return
        try:
            data = encode_json(ev)
            with self._lock:
                send_frame(self.sock, b"J", data)
        except (OSError, TypeError):
            self.closed = True

    def sender(self) -> Callback:
        return _Sender(self)

    def _read_control(self) -> None:
        try:
            while True:
                msg = _recv_json(self.sock)
                if msg is None:
                    break
                what = msg.get("control") if isinstance(msg, dict) else None
                if what in CONTROLS:
                    with self._lock:
                        if self.control is None:
                            self._early.append(what)
                            continue
                    self._apply(what)
        except (OSError, ChannelError, ValueError):
            pass
        self.closed = True
        with self._lock:  # the GUI went away: stop (the checkpoint is kept)
            if self.control is None:
                self._early.append("gone")
                return
        self._apply("gone")

    def _apply(self, what: str) -> None:
        control = self.control
        if what == "pause":
            control.pause()
        elif what == "resume":
            control.resume()
        elif what == "stop":
            control.stop(by="the user")
        elif what == "gone":
            control.stop(by="the app closing")
        elif what == "sample":
            for cb in self.callbacks:
                if hasattr(cb, "request_sample"):
                    cb.request_sample()


class _Sender(Callback):
    """Rank 0: every event to the GUI. Every rank: its memory in use, once a second."""

    def __init__(self, client: ChannelClient) -> None:
        self.client = client
        self._next = 0.0
        self._name: str | None = None

    def on_event(self, trainer, ev: dict) -> None:
        if self.client.rank == 0:
            self.client.send(ev)

    def on_fit_start(self, trainer) -> None:
        self._memory(trainer)

    def on_batch_end(self, trainer, batch: int, loss) -> None:
        if time.monotonic() >= self._next:
            self._memory(trainer)

    def on_fit_end(self, trainer, result) -> None:
        self._memory(trainer)

    def _memory(self, trainer) -> None:
        from workbench.training.device import device_name, memory_in_use

        self._next = time.monotonic() + MEMORY_EVERY_S
        plan = getattr(trainer, "plan", None)
        if plan is None:
            return
        memory = memory_in_use(plan.device)
        if memory is not None:
            if self._name is None:
                self._name = device_name(plan.device)
            self.client.send({"event": "memory", "time": time.time(), "rank": self.client.rank,
                              "device": str(plan.device), "device_name": self._name, "bytes": memory.used,
                              "text": memory.text})


_SAFE_GLOBALS = {("builtins", n) for n in ("set", "frozenset", "slice", "complex", "bytearray")} | {
    ("collections", "OrderedDict")}
_CALLBACK_MODULES = ("workbench.", "tests.", "benchmarks.")


class _CallbackUnpickler(pickle.Unpickler):
    """The run frame holds the spec and Trainer callbacks; an allow-list of what it may name:
    Callback subclasses of our own packages and a few plain builtin containers, nothing else."""

    def find_class(self, module: str, name: str):
        if (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        if module.startswith(_CALLBACK_MODULES) and "." not in name:
            from workbench.training.callbacks import Callback

            found = super().find_class(module, name)
            if isinstance(found, type) and issubclass(found, Callback):
                return found
        raise ChannelError(f"the run frame names {module}.{name}, which is not a training callback")


def connect(address: str, rank: int = 0, environ=None, timeout: float = 30.0) -> ChannelClient:
    """Join the GUI at `address` ("HOST:PORT") with the token from the environment."""
    env = os.environ if environ is None else environ
    try:
        token = bytes.fromhex(env.get(TOKEN_ENV, ""))
    except ValueError:
        token = b""
    if not token:
        raise ChannelError(f"--events needs the run's token in ${TOKEN_ENV} (the GUI sets it)")
    host, _, port = address.rpartition(":")
    if host not in ("127.0.0.1", "localhost", "::1") or not port.isdigit():
        raise ChannelError(f"--events: expected 127.0.0.1:PORT (a loopback address), got {address!r}")
    try:
        sock = socket.create_connection((host, int(port)), timeout=timeout)
        send_frame(sock, b"J", encode_json({"rank": rank, "proof": _proof(token, "child")}))
        reply = _recv_json(sock)
        if not isinstance(reply, dict) or not hmac.compare_digest(str(reply.get("proof", "")), _proof(token, "gui")):
            raise ChannelError(f"--events {address}: the other side does not know the run's token")
        frame = recv_frame(sock)
    except OSError as exc:
        raise ChannelError(f"--events {address}: {exc.strerror or exc}") from None
    if frame is None or frame[0] != b"P":
        raise ChannelError(f"--events {address}: the GUI closed the connection before sending the run")
    sock.settimeout(None)
    message = _CallbackUnpickler(io.BytesIO(frame[1])).load()
    return ChannelClient(sock, rank, dict(message["spec"]), list(message["callbacks"]))


def join(address: str) -> ChannelClient:
    """`workbench train --events`: this process's rank (torchrun's RANK) joins the GUI."""
    try:
        rank = int(os.environ.get("RANK", "0"))
    except ValueError:
        rank = 0
    return connect(address, rank)
