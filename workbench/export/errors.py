"""The one error type of export: something the user can act on, optionally tied to a node.

The CLI prints it as one `error:` line and exits 2; the GUI shows it on the node it names.
An export that produced a file whose verification failed is *not* an error: it returns a
report with `ok=False` (exit 1).
"""

from __future__ import annotations

import re
from typing import Iterable

__all__ = ["ExportError", "guess_node", "short_reason"]


class ExportError(Exception):
    """Export cannot proceed; `node_id` names the node at fault when there is one."""

    def __init__(self, message: str, node_id: str | None = None) -> None:
        super().__init__(f"{node_id}: {message}" if node_id else message)
        self.node_id = node_id
        self.reason = message


def short_reason(exc: BaseException, limit: int = 300) -> str:
    """One readable line from an exporter's exception (they like to dump whole graphs).

    Takes the first non-empty line of the exception and, when it was raised from a
    different root cause, that cause's first line too.
    """
    text = _first_line(exc)
    root = exc
    while root.__cause__ is not None and root.__cause__ is not root:
        root = root.__cause__
    if root is not exc:
        cause = _first_line(root)
        if cause and cause not in text:
            text = f"{text} ({cause})" if text else cause
    text = text or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _first_line(exc: BaseException) -> str:
    for line in _ANSI.sub("", str(exc)).splitlines():
        line = line.strip()
        if line:
            cut = line.find("[Caused by")  # TorchScript exporter: the rest is a graph dump
            return (line[:cut] if cut > 0 else line).strip()
    return ""


_NODE_PATTERNS = (
    r"::(\w+)",  # TorchScript scopes: "...torchaudio...MelSpectrogram::mel"
    r"self\.(\w+)",  # user code in dynamo / torch.export tracebacks
    r"L\['self'\]\.(\w+)",
    r"L__self___(\w+?)(?:_|\b)",
)


def guess_node(text: str, node_ids: Iterable[str]) -> str | None:
    """The first node id an exporter's message mentions as a module, if any."""
    ids = set(node_ids)
    for pattern in _NODE_PATTERNS:
        for match in re.finditer(pattern, text):
            if match.group(1) in ids:
                return match.group(1)
    return None
