"""One search dimension: what a sweep may set one setting to, in Optuna's terms.

    {"type": "float", "low": 1e-4, "high": 0.1, "log": true}     suggest_float (step optional)
    {"type": "int", "low": 8, "high": 64, "step": 8}             suggest_int (log optional)
    {"type": "categorical", "choices": ["Adam", "SGD"]}         suggest_categorical

`parse_dimension` checks an entry on its own (types, low <= high, a log scale above 0, a
step that divides the range, choices Optuna can store); targets.py checks it against the
setting it names.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from workbench.core.shapes import Diagnostic
from workbench.core.text import describe

__all__ = ["Dimension", "parse_dimension", "TYPES", "MAX_CHOICES", "where", "error"]

TYPES = ("float", "int", "categorical")
MAX_CHOICES = 1000
_DIM_KEYS = {"float": {"type", "low", "high", "step", "log"}, "int": {"type", "low", "high", "step", "log"},
             "categorical": {"type", "choices"}}


@dataclass(frozen=True)
class Dimension:
    """One setting a sweep varies, in Optuna's terms (suggest_float / suggest_int / suggest_categorical)."""

    key: str
    type: str
    low: float | int | None = None
    high: float | int | None = None
    step: float | int | None = None
    log: bool = False
    choices: tuple = ()

    @property
    def numeric(self) -> bool:
        return self.type != "categorical"

    def candidates(self) -> list:
        """The values that bound this dimension (checked against the setting before any trial)."""
        return list(self.choices) if self.type == "categorical" else [self.low, self.high]

    def to_json(self) -> dict:
        if self.type == "categorical":
            return {"type": "categorical", "choices": list(self.choices)}
        doc: dict[str, Any] = {"type": self.type, "low": self.low, "high": self.high}
        if self.step is not None:
            doc["step"] = self.step
        if self.log:
            doc["log"] = True
        return doc


def parse_dimension(key: Any, raw: Any, problems: list) -> Dimension | None:
    """One entry of search.space checked on its own; None (and problems) when it is wrong."""
    at = where(key)
    if not isinstance(raw, dict):
        problems.append(error(at, f"must be an object such as {{\"type\": \"float\", \"low\": 0.0001, "
                                      f"\"high\": 0.1, \"log\": true}}, got {describe(raw, 40)}"))
        return None
    kind = raw.get("type")
    if kind not in TYPES:
        problems.append(error(f"{at}.type", f"must be one of {', '.join(TYPES)}, got {describe(kind, 40)}"))
        return None
    before = len(problems)
    for extra in sorted(set(raw) - _DIM_KEYS[kind]):
        problems.append(error(f"{at}.{extra}", f"is not a key of {'an' if kind == 'int' else 'a'} {kind} range "
                                                   f"(it takes {', '.join(sorted(_DIM_KEYS[kind]))})"))
    if kind == "categorical":
        choices = raw.get("choices")
        if not isinstance(choices, list) or not 1 <= len(choices) <= MAX_CHOICES:
            problems.append(error(f"{at}.choices", f"must be a list of 1 to {MAX_CHOICES} values, got "
                                                       f"{describe(choices, 40)}"))
            return None
        for i, choice in enumerate(choices):
            if choice is not None and not isinstance(choice, (str, int, float, bool)):
                problems.append(error(f"{at}.choices[{i}]", f"must be text, a number, true/false or null, "
                                                                f"got {describe(choice, 40)}"))
        if len({repr(c) for c in choices}) != len(choices):
            problems.append(error(f"{at}.choices", "lists a value twice"))
        return None if len(problems) > before else Dimension(key, kind, choices=tuple(choices))
    low, high = (_bound(raw.get(name), f"{at}.{name}", kind, problems) for name in ("low", "high"))
    log = raw.get("log", False)
    if not isinstance(log, bool):
        problems.append(error(f"{at}.log", f"must be true or false, got {describe(log, 40)}"))
    step = raw.get("step")
    if step is not None:
        step = _bound(step, f"{at}.step", kind, problems)
        if step is not None and step <= 0:
            problems.append(error(f"{at}.step", f"must be above 0, got {step}"))
    if len(problems) > before:
        return None
    if low > high:
        problems.append(error(at, f"low ({low}) is above high ({high})"))
    if log is True and low <= 0:
        problems.append(error(f"{at}.low", f"a log scale needs low above 0, got {low}"))
    if log is True and step is not None and (kind == "float" or step != 1):
        problems.append(error(f"{at}.step", "a log scale takes no step (Optuna samples it continuously)"))
    if step is not None and low <= high and not _divides(high - low, step):
        problems.append(error(f"{at}.step", f"high - low ({high - low:g}) must be a multiple of step ({step:g})"))
    return None if len(problems) > before else Dimension(key, kind, low, high, step, log)


def _bound(value: Any, field: str, kind: str, problems: list):
    ok = isinstance(value, int) if kind == "int" else isinstance(value, (int, float)) and math.isfinite(value)
    if not ok or isinstance(value, bool):
        what = "a whole number" if kind == "int" else "a finite number"
        problems.append(error(field, f"must be {what}, got {describe(value, 40)}"))
        return None
    return value if kind == "int" else float(value)


def _divides(span: float, step: float) -> bool:
    ratio = span / step
    return abs(ratio - round(ratio)) <= 1e-8 * max(1.0, abs(ratio))


def where(key: Any) -> str:
    return f"search.space[{describe(key, 80)}]"


def error(field: str, message: str, node_id: str | None = None) -> Diagnostic:
    return Diagnostic(node_id, "error", message, field=field)
