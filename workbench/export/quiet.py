"""Silence exporters: their warnings, log records and prints become a few short notes.

torch's exporters talk a lot (deprecation notices about the path we chose on purpose,
opset conversion logs, whole-graph dumps on stdout). An export prints only its report,
so `quiet(notes)` captures all of it and keeps the first few distinct, useful lines.

Warning filters, sys.stdout, logger handlers and file descriptors are process-wide: while
an export runs in a worker thread, other threads' output in the same window is captured
too. Wrap exporter calls only, never long stretches.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import tempfile
import warnings

__all__ = ["quiet", "native_output_silenced"]

_NOISY_ROOTS = ("torch", "onnxscript", "onnx_ir", "onnx")
_MAX_NOTES = 5
_BORING = (
    "legacy TorchScript-based ONNX export",  # we chose it deliberately
    "feature will be removed",
    "Converting a tensor to a Python",  # tracer noise about shapes, verified anyway
    "TracerWarning",
    "is deprecated. Please switch to",  # torch.jit.*: TorchScript is what was asked for
    "No complete tensor found in the group",  # torch.export.save of CPU weights
    "with a variable length with LSTM",  # other batch sizes are verified anyway
    "were assigned during export",  # nn.LSTM's _flat_weights under torch.export
)


@contextlib.contextmanager
def quiet(notes: list[str]):
    """Swallow exporter output; keep distinct warnings (first few) as notes."""
    handler = _Collect()
    saved = []
    for logger in _noisy_loggers():
        saved.append((logger, logger.level, logger.propagate, list(logger.handlers)))
        logger.handlers = [handler]
        logger.propagate = False
        if logger.level == logging.NOTSET or logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as record, contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("always")
            try:
                yield
            finally:
                caught.extend(record)
    finally:
        for logger, level, propagate, handlers in saved:
            logger.handlers = handlers
            logger.setLevel(level)
            logger.propagate = propagate
        for message in [str(w.message) for w in caught] + handler.messages:
            line = message.strip().splitlines()[0][:200] if message.strip() else ""
            if line and line not in notes and not _boring(line) and len(notes) < _MAX_NOTES:
                notes.append(line)


@contextlib.contextmanager
def native_output_silenced():
    """Discard what C++ code writes to file descriptors 1 and 2 meanwhile.

    The TorchScript-based ONNX exporter (torch 2.14) switches its C++ log on for every
    export — it tests a function object for truth instead of calling it — and prints the
    whole graph to std::cout when an op has no translation. Python-level redirection
    cannot catch that. Anything another thread prints in the meantime is lost too, so
    this wraps only the exporter call itself.
    """
    saved: list[tuple[int, int]] = []
    with tempfile.TemporaryFile() as sink:
        for stream, fd in ((sys.stdout, 1), (sys.stderr, 2)):
            try:
                if stream is not None:
                    stream.flush()
                saved.append((fd, os.dup(fd)))
                os.dup2(sink.fileno(), fd)
            except (OSError, ValueError, AttributeError):
                continue  # no real descriptor (an embedded interpreter): leave it
        try:
            yield
        finally:
            for fd, copy in saved:
                os.dup2(copy, fd)
                os.close(copy)


def _noisy_loggers() -> list[logging.Logger]:
    """The exporters' root loggers, and every descendant with handlers of its own
    (torch._logging gives torch.onnx, torch._dynamo, torch.export... private stderr
    handlers and stops them propagating)."""
    found = [logging.getLogger(name) for name in _NOISY_ROOTS]
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and logger.handlers and name.split(".")[0] in _NOISY_ROOTS:
            if logger not in found:
                found.append(logger)
    return found


def _boring(line: str) -> bool:
    return any(b in line for b in _BORING)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.messages.append(record.getMessage())
        except Exception:  # pragma: no cover - a malformed log call must not break export
            pass
