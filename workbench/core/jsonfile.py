"""JSON that comes from a user: read with a size bound, parsed with a depth and number bound.

A file handed to the program may be a FIFO (reading blocks forever), /dev/zero (reading
never ends), hundreds of levels of brackets (later recursive code overflows the stack)
or a 400-digit number (float() raises OverflowError far from the file). Each of those is
refused here, before anything recursive runs, as one JsonFileError whose message says
where and why. The structure is walked without recursion.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from pathlib import Path
from typing import Any

__all__ = ["MAX_BYTES", "MAX_DEPTH", "JsonFileError", "check_tree", "load_json", "parse_json", "read_regular"]

MAX_BYTES = 256 * 1024 * 1024
MAX_DEPTH = 100
_INT_RANGE = (-(2**63), 2**64 - 1)  # what a tensor size, a seed or a counter can hold
_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")  # only escapes can make a lone surrogate


class JsonFileError(ValueError):
    """The file or text is not acceptable JSON; the message says where and why."""


def read_regular(path: str | os.PathLike, limit: int = MAX_BYTES, what: str = "file") -> bytes:
    """The bytes of `path`, which must be a regular file of at most `limit` bytes."""
    path = Path(path)
    try:
        _check_regular(path, os.stat(path), limit, what)
        # O_NONBLOCK: a FIFO swapped in after the stat must not block the open
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise JsonFileError(f"{path}: no such file") from None
    except OSError as exc:
        raise JsonFileError(f"{path}: cannot read ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as handle:
        try:
            _check_regular(path, os.fstat(handle.fileno()), limit, what)
            data = handle.read(limit + 1)
        except OSError as exc:
            raise JsonFileError(f"{path}: cannot read ({exc.strerror})") from None
    if len(data) > limit:
        raise JsonFileError(f"{path}: larger than the {_size(limit)} limit for a {what}")
    return data


def _check_regular(path: Path, info: os.stat_result, limit: int, what: str) -> None:
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        raise JsonFileError(f"{path}: is a folder, not a {what}")
    if not stat.S_ISREG(mode):
        raise JsonFileError(f"{path}: is a {_kind(mode)}, not a regular file")
    if info.st_size > limit:
        raise JsonFileError(f"{path}: is {info.st_size:,} bytes, larger than the {_size(limit)} limit for a {what}")


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "FIFO (named pipe)"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket")):
        if test(mode):
            return name
    return "special file"


def _size(n: int) -> str:
    return f"{n / 2**20:.0f} MB" if n >= 2**20 else f"{n} bytes"


def parse_json(text: str, max_depth: int = MAX_DEPTH) -> Any:
    """json.loads refusing NaN/Infinity, nesting deeper than `max_depth`, out-of-range numbers
    and text that cannot be written back as UTF-8 (lone surrogates)."""
    try:
        doc = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise JsonFileError(f"line {exc.lineno}, column {exc.colno}: invalid JSON ({exc.msg})") from None
    except RecursionError:
        raise JsonFileError(f"invalid JSON: nested more than {max_depth} levels deep") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise JsonFileError(f"invalid JSON ({exc})") from None
    check_tree(doc, max_depth, texts=bool(_SURROGATE.search(text)))
    return doc


def load_json(path: str | os.PathLike, what: str = "file", limit: int = MAX_BYTES) -> Any:
    """read_regular + parse_json; errors name the file."""
    raw = read_regular(path, limit, what)
    try:
        return parse_json(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise JsonFileError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except JsonFileError as exc:
        raise JsonFileError(f"{path}: {exc}") from None


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def check_tree(doc: Any, max_depth: int = MAX_DEPTH, texts: bool = False) -> None:
    """Refuse nesting deeper than `max_depth` and numbers a float or int64 cannot hold, without
    recursing; with `texts`, also strings (and keys) that are not valid Unicode.

    A fast level-by-level pass decides; only a document it refuses (or one whose text must
    be checked) is walked again, slowly, to say where the problem is."""
    if texts or not _acceptable(doc, max_depth):
        _locate(doc, max_depth, texts)


def _acceptable(doc: Any, max_depth: int) -> bool:
    low, high = _INT_RANGE
    level, depth = [doc], 0
    while level:
        depth += 1
        if depth > max_depth:
            return False
        nested = []
        for value in level:
            kind = type(value)
            items = value.values() if kind is dict else value if kind is list else (value,)
            for item in items:
                kind = type(item)
                if kind is dict or kind is list:
                    nested.append(item)
                elif kind is int:
                    if not low <= item <= high:
                        return False
                elif kind is float and item - item != 0.0:  # inf or nan
                    return False
        level = nested
    return True


def _locate(doc: Any, max_depth: int, texts: bool) -> None:
    """Raise JsonFileError naming the first item the bounds refuse."""
    _check_scalar(doc, None, None, texts)
    if not isinstance(doc, (dict, list)):
        return
    stack: list[tuple[Any, int, tuple | None]] = [(doc, 1, None)]
    while stack:
        value, depth, link = stack.pop()
        for key, item in value.items() if isinstance(value, dict) else enumerate(value):
            if texts and isinstance(key, str):
                _check_text(key, link, key)
            if isinstance(item, (dict, list)):
                if depth >= max_depth:
                    raise JsonFileError(f"{_where(link, key)}: nested more than {max_depth} levels deep")
                stack.append((item, depth + 1, (link, key)))
            else:
                _check_scalar(item, link, key, texts)


def _check_scalar(item: Any, link: tuple | None, key: Any, texts: bool) -> None:
    if isinstance(item, str):
        if texts:
            _check_text(item, link, key)
        return
    if isinstance(item, bool) or not isinstance(item, (int, float)):
        return
    if isinstance(item, float):
        if not math.isfinite(item):
            raise JsonFileError(f"{_where(link, key)}: {item} is not a finite number")
    elif not _INT_RANGE[0] <= item <= _INT_RANGE[1]:
        digits = len(str(abs(item)))
        raise JsonFileError(f"{_where(link, key)}: a {digits}-digit number is too large (whole numbers must fit in 64 bits)")


def _check_text(text: str, link: tuple | None, key: Any) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise JsonFileError(f"{_where(link, key)}: text holds an unpaired surrogate escape (not valid Unicode)") from None


def _where(link: tuple | None, key: Any) -> str:
    """The path to an item ("graph.nodes[0].pos[1]") from the walk's parent links."""
    parts = [key] if key is not None else []
    while link is not None:
        link, parent_key = link
        parts.append(parent_key)
    parts.reverse()
    if len(parts) > 8:  # a deep path: its start and end say enough
        parts = [*parts[:4], None, *parts[-3:]]  # None: the elided middle
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part is None:
            text += "..."
        elif part.isidentifier() and len(part) <= 40:
            text += f".{part}" if text else part
        else:
            text += f"[{ascii(part[:40])}{'...' if len(part) > 40 else ''}]"
    return text or "the document"
