"""Parameter schemas: what a layer accepts, its default, range and help text.

Values are plain JSON (numbers, strings, booleans, lists, null) so a project file
round-trips them unchanged; tuples are written as lists. Validation never trusts a
value's Python type: a float where an int is wanted, a bool where a number is wanted
or a three-item kernel for a 2-D conv are all refused with a message naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench.core.text import describe, shorten

# kinds of parameter
INT = "int"
FLOAT = "float"
BOOL = "bool"
CHOICE = "choice"
STR = "str"
INTS = "ints"  # an int, or a list of `length` ints (kernel_size=3 or [3, 5])
PADDING = "padding"  # like INTS, or one of `choices` ("same", "valid")
SHAPE = "shape"  # a list of ints (any length >= 1)
KINDS = (INT, FLOAT, BOOL, CHOICE, STR, INTS, PADDING, SHAPE)
# What a size may be taken from ({"from_data": name}): the data source says, see workbench.data.facts
DATA_FACTS = ("vocab_size", "num_classes")

# Sane bounds for every whole-number value, whatever a layer's own range says: torch
# sizes are int64 and some kernels index with int32, so larger values only ever end in
# an overflow (or an allocation no machine has) further down.
MAX_INT = 2**31 - 1
MAX_RANK = 12  # values in a list-of-ints parameter (shapes, kernel sizes, dims)


class ParamError(Exception):
    """A parameter value is invalid. `name` is the field; the message says why."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.reason = message


@dataclass(frozen=True)
class Param:
    name: str
    kind: str
    default: Any = None
    help: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()
    length: int = 0  # INTS / PADDING: number of spatial dims (0 = any)
    optional: bool = False  # None is allowed
    # INT: the facts of the data (DATA_FACTS) this size may name as {"from_data": fact}
    from_data: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown parameter kind {self.kind!r}")
        if any(fact not in DATA_FACTS for fact in self.from_data):
            raise ValueError(f"from_data names facts outside {DATA_FACTS}: {self.from_data}")

    def validate(self, value: Any) -> Any:
        """The normalised value, or ParamError."""
        if value is None:
            if self.optional:
                return None
            raise ParamError(self.name, "a value is required")
        if isinstance(value, dict):
            raise ParamError(self.name, self._from_data_refusal(value))
        checker = _CHECKERS[self.kind]
        return checker(self, value)


    def _from_data_refusal(self, value: dict) -> str:
        """Why a {"from_data": fact} value cannot be used as it is: core resolves the form
        before validation (workbench.core.from_data), so reaching here means no value."""
        fact = from_data_fact(value)
        if not self.from_data:
            return f"must be a number; {self.name} cannot be taken from the data"
        if fact not in self.from_data:
            allowed = " or ".join(f'{{"from_data": "{f}"}}' for f in self.from_data)
            return f"can come from the data only as {allowed}"
        return f"takes the data's {fact}, which the data section does not give: choose a data source that has one, or set a number"


def from_data_fact(value: Any) -> str | None:
    """The fact a {"from_data": fact} value names (None for any other value)."""
    if isinstance(value, dict) and len(value) == 1 and isinstance(value.get("from_data"), str):
        return value["from_data"]
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_range(p: Param, value: float) -> None:
    if p.min is not None and value < p.min:
        raise ParamError(p.name, f"must be at least {_num(p.min)}, got {_num(value)}")
    if p.max is not None and value > p.max:
        raise ParamError(p.name, f"must be at most {_num(p.max)}, got {_num(value)}")


def _num(x: float) -> str:
    if isinstance(x, int):  # float() of a huge int overflows
        return str(x)
    return str(int(x)) if x.is_integer() else repr(x)


def _int(p: Param, value: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not _is_int(value):
        raise ParamError(p.name, f"must be a whole number, got {describe(value)}")
    if not -MAX_INT <= value <= MAX_INT:
        raise ParamError(p.name, f"must be between {-MAX_INT} and {MAX_INT}, got {describe(value, 40)}")
    _check_range(p, value)
    return value


def _float(p: Param, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParamError(p.name, f"must be a number, got {describe(value)}")
    try:
        value = float(value)
    except OverflowError:
        value = float("inf")
    if value != value or value in (float("inf"), float("-inf")):
        raise ParamError(p.name, "must be a finite number")
    _check_range(p, value)
    return value


def _bool(p: Param, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ParamError(p.name, f"must be true or false, got {describe(value)}")
    return value


def _choice(p: Param, value: Any) -> str:
    if value not in p.choices:
        options = ", ".join(repr(c) for c in p.choices)
        raise ParamError(p.name, f"must be one of {options}, got {describe(value)}")
    return value


def _str(p: Param, value: Any) -> str:
    if not isinstance(value, str):
        raise ParamError(p.name, f"must be text, got {describe(value)}")
    return value


def _ints(p: Param, value: Any) -> int | tuple[int, ...]:
    if isinstance(value, (list, tuple)):
        if p.length and len(value) != p.length:
            raise ParamError(p.name, f"needs {p.length} values, got {len(value)}")
        if len(value) > MAX_RANK:
            raise ParamError(p.name, f"takes at most {MAX_RANK} values, got {len(value)}")
        if not value:
            raise ParamError(p.name, "needs at least one value")
        return tuple(_int(p, v) for v in value)
    return _int(p, value)


def _padding(p: Param, value: Any):
    if isinstance(value, str):
        return _choice(p, value)
    return _ints(p, value)


def _shape(p: Param, value: Any) -> tuple[int, ...]:
    if not isinstance(value, (list, tuple)) or not value:
        raise ParamError(p.name, f"must be a list of whole numbers such as [1, 28, 28], got {describe(value)}")
    if len(value) > MAX_RANK:
        raise ParamError(p.name, f"takes at most {MAX_RANK} sizes, got {len(value)}")
    out = []
    for v in value:
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if not _is_int(v):
            raise ParamError(p.name, f"must be a list of whole numbers, got {describe(value)}")
        if not -MAX_INT <= v <= MAX_INT:
            raise ParamError(p.name, f"every size must be between {-MAX_INT} and {MAX_INT}, got {describe(v, 40)}")
        out.append(v)
    if p.min is not None:
        for v in out:
            if v < p.min:
                raise ParamError(p.name, f"every size must be at least {_num(p.min)}, got {describe(value)}")
    return tuple(out)


_CHECKERS = {
    INT: _int,
    FLOAT: _float,
    BOOL: _bool,
    CHOICE: _choice,
    STR: _str,
    INTS: _ints,
    PADDING: _padding,
    SHAPE: _shape,
}


def resolve_params(schema: tuple[Param, ...], params: dict) -> dict:
    """Defaults merged with `params`, each value validated; unknown names refused."""
    if not isinstance(params, dict):
        raise ParamError("params", f"must be an object, got {type(params).__name__}")
    known = {p.name for p in schema}
    for name in params:
        if name not in known:
            listing = ", ".join(sorted(known)) or "none"
            raise ParamError(shorten(str(name), 60), f"unknown parameter (this layer takes: {listing})")
    return {p.name: p.validate(params.get(p.name, p.default)) for p in schema}


def pair(value, n: int = 2) -> tuple[int, ...]:
    """An int-or-tuple parameter as an n-tuple."""
    if isinstance(value, tuple):
        return value
    return (value,) * n


def to_json(value: Any) -> Any:
    """Tuples become lists so params compare equal to what a project file holds."""
    if isinstance(value, tuple):
        return [to_json(v) for v in value]
    return value
