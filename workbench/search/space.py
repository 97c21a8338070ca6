"""The project's `search` section: what a sweep varies, what it optimises and how.

    "search": {"version": 1,
               "objective": {"metric": "val_accuracy", "direction": "maximize"},
               "trials": 20, "timeout": null, "workers": 1,
               "sampler": "tpe" | "random" | "grid" | "cmaes" (or {"type": ..., "seed": N}),
               "pruner": "median" | "successive_halving" | "none" (or {"type": ..., options}: median takes
                         n_startup_trials (default 2) and warmup_epochs (first epochs never pruned, default 0);
                         successive_halving takes min_resource and reduction_factor),
               "space": {"training.optimizer.lr": {"type": "float", "low": 1e-4, "high": 0.1, "log": true},
                         "nodes.conv1.out_channels": {"type": "int", "low": 8, "high": 64, "step": 8},
                         "training.optimizer.type": {"type": "categorical", "choices": ["Adam", "SGD"]}}}

The section lives among the project file's top-level keys (older apps keep it as an
unknown key and write it back) and carries its own `version`: older sections are migrated
in order (SECTION_MIGRATIONS), newer ones refused. Reading never raises: every problem is
a Diagnostic naming the key ("search.space['nodes.conv1.out_channels'].low: ..."); each
range is checked on its own by dimension.py and against the setting it names by targets.py.
No Optuna here: runner.py turns a SearchSpec into distributions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

from workbench.core.shapes import Diagnostic
from workbench.core.text import describe
from workbench.search.dimension import TYPES, Dimension, error as _error, parse_dimension, where as _where

__all__ = ["Dimension", "SearchSpec", "read_search", "search_section", "set_search_section", "SEARCH_VERSION",
           "SAMPLERS", "PRUNERS", "DIRECTIONS", "TYPES", "parse_duration"]

SECTION = "search"
SEARCH_VERSION = 1
# Ordered migrators: SECTION_MIGRATIONS[v] turns a version-v section into version v + 1 (none yet).
SECTION_MIGRATIONS: dict[int, Callable[[dict], dict]] = {}
SAMPLERS = ("tpe", "random", "grid", "cmaes")
PRUNERS = ("median", "successive_halving", "none")
DIRECTIONS = ("maximize", "minimize")
MAX_TRIALS = 100_000


@dataclass
class SearchSpec:
    metric: str = "val_loss"
    direction: str = "minimize"
    trials: int = 20
    timeout: float | None = None  # seconds
    workers: int = 1
    sampler: str = "tpe"
    seed: int | None = None
    pruner: str = "median"
    pruner_options: dict = field(default_factory=dict)
    space: dict[str, Dimension] = field(default_factory=dict)

    def to_json(self) -> dict:
        sampler: Any = self.sampler if self.seed is None else {"type": self.sampler, "seed": self.seed}
        return {"version": SEARCH_VERSION, "objective": {"metric": self.metric, "direction": self.direction},
                "trials": self.trials, "timeout": self.timeout, "workers": self.workers, "sampler": sampler,
                "pruner": {"type": self.pruner, **self.pruner_options} if self.pruner_options else self.pruner,
                "space": {k: d.to_json() for k, d in self.space.items()}}


def search_section(project) -> Any:
    """The raw section as the file holds it (None when the project has none)."""
    return project.extra.get(SECTION)


def set_search_section(project, section: dict | None) -> None:
    if section is None:
        project.extra.pop(SECTION, None)
    else:
        project.extra[SECTION] = section


def read_search(project, check_targets: bool = True) -> tuple[SearchSpec | None, list[Diagnostic]]:
    """The project's search section checked (and, with `check_targets`, each key against the
    project it names). The spec is None when the section is missing or has any error."""
    section = search_section(project)
    if section is None:
        return None, [_error("search", "the project has no search section: right-click a setting and choose "
                                       "'Search over this…', or add one to the project file")]
    spec, problems = _parse(section)
    if spec is not None and check_targets:  # the dimensions that parsed, whatever else is wrong
        from workbench.search.targets import check_dimension

        for dim in spec.space.values():
            problems += check_dimension(project, dim, spec.space)
    return (None if any(p.severity == "error" for p in problems) else spec), problems


def parse_section(section: Any) -> tuple[SearchSpec | None, list[Diagnostic]]:
    """The section checked on its own (no project): the spec is None when anything is wrong."""
    spec, problems = _parse(section)
    return (None if problems else spec), problems


def _parse(section: Any) -> tuple[SearchSpec | None, list[Diagnostic]]:
    problems: list[Diagnostic] = []
    if not isinstance(section, dict):
        return None, [_error("search", f"must be an object, got {describe(section, 40)}")]
    section = _migrated(section, problems)
    if section is None:
        return None, problems
    known = {"version", "objective", "trials", "timeout", "workers", "sampler", "pruner", "space"}
    for key in section:
        if key not in known:
            problems.append(_error(f"search.{key}", f"unknown key (known: {', '.join(sorted(known))})"))
    spec = SearchSpec()
    _objective(section.get("objective", {}), spec, problems)
    spec.trials = _whole(section.get("trials", spec.trials), "search.trials", 1, MAX_TRIALS, problems)
    spec.workers = _whole(section.get("workers", 1), "search.workers", 1, 64, problems)
    timeout = section.get("timeout")
    if timeout is not None:
        seconds = parse_duration(timeout) if isinstance(timeout, (str, int, float)) else None
        if seconds is None:
            problems.append(_error("search.timeout", f"must be seconds or a duration such as '30m', got "
                                                     f"{describe(timeout, 40)}"))
        spec.timeout = seconds
    _sampler(section.get("sampler", "tpe"), spec, problems)
    _pruner(section.get("pruner", "median"), spec, problems)
    space = section.get("space", {})
    if not isinstance(space, dict):
        problems.append(_error("search.space", f"must be an object of setting -> range, got {describe(space, 40)}"))
        space = {}
    if not space:
        problems.append(_error("search.space", "is empty: add at least one setting to search over"))
    for key, raw in space.items():
        dim = parse_dimension(key, raw, problems)
        if dim is not None:
            spec.space[key] = dim
    _overlaps(spec, problems)
    if spec.sampler == "cmaes" and any(not d.numeric for d in spec.space.values()):
        problems.append(_error("search.sampler", "CMA-ES searches numbers only; a categorical dimension needs "
                                                 "tpe, random or grid"))
    if spec.sampler == "grid":
        for dim in spec.space.values():
            if dim.type == "float" and dim.step is None:
                problems.append(_error(_where(dim.key), "the grid sampler needs a step for a float range"))
    return spec, problems


def parse_duration(value: Any) -> float | None:
    """Seconds from 90, "90s", "30m", "2h" or "1h30m"; None when it is not one (or not positive)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) and value > 0 else None
    text, total, number = value.strip().lower(), 0.0, ""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    for char in text:
        if char.isdigit() or char == ".":
            number += char
        elif char in units and number:
            try:
                total += float(number) * units[char]
            except ValueError:
                return None
            number = ""
        else:
            return None
    if number:
        try:
            total += float(number)
        except ValueError:
            return None
    return total if 0 < total < math.inf else None


def _migrated(section: dict, problems: list) -> dict | None:
    version = section.get("version", SEARCH_VERSION)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        problems.append(_error("search.version", f"must be a whole number >= 1, got {describe(version, 40)}"))
        return None
    if version > SEARCH_VERSION:
        problems.append(_error("search.version", f"was written by a newer Model Workbench (search section "
                                                 f"version {version}; this app reads up to {SEARCH_VERSION})"))
        return None
    for v in range(version, SEARCH_VERSION):
        section = SECTION_MIGRATIONS[v](dict(section))
    return section


def _objective(raw: Any, spec: SearchSpec, problems: list) -> None:
    from workbench.training.config import metric_mode

    if isinstance(raw, str):
        raw = {"metric": raw}
    if not isinstance(raw, dict):
        problems.append(_error("search.objective", f"must be {{metric, direction}}, got {describe(raw, 40)}"))
        return
    metric = raw.get("metric", "val_loss")
    if not isinstance(metric, str) or not metric.startswith(("val_", "train_")):
        problems.append(_error("search.objective.metric", f"must name a metric the runs report, such as val_loss "
                                                          f"or val_accuracy, got {describe(metric, 40)}"))
        return
    spec.metric = metric
    default = "maximize" if metric_mode(metric) == "max" else "minimize"
    direction = {"max": "maximize", "min": "minimize"}.get(raw.get("direction"), raw.get("direction", default))
    spec.direction = _one_of(direction, "search.objective.direction", DIRECTIONS, problems)


def _sampler(raw: Any, spec: SearchSpec, problems: list) -> None:
    if isinstance(raw, dict):
        seed = raw.get("seed")
        if seed is not None:
            spec.seed = _whole(seed, "search.sampler.seed", 0, 2**32 - 1, problems)
        raw = raw.get("type", "tpe")
    spec.sampler = _one_of(raw, "search.sampler", SAMPLERS, problems)


_PRUNER_OPTIONS = {"median": {"n_startup_trials": 0, "warmup_epochs": 0},
                   "successive_halving": {"min_resource": 1, "reduction_factor": 2}, "none": {}}


def _pruner(raw: Any, spec: SearchSpec, problems: list) -> None:
    options = {}
    if isinstance(raw, dict):
        options, raw = {k: v for k, v in raw.items() if k != "type"}, raw.get("type", "median")
    spec.pruner = _one_of(raw, "search.pruner", PRUNERS, problems)
    allowed = _PRUNER_OPTIONS[spec.pruner]
    for key, value in options.items():
        if key not in allowed:
            problems.append(_error(f"search.pruner.{key}", f"is not an option of the {spec.pruner} pruner (it takes: "
                                                           f"{', '.join(allowed) or 'none'})"))
        else:
            spec.pruner_options[key] = _whole(value, f"search.pruner.{key}", allowed[key], 10_000, problems)


def _overlaps(spec: SearchSpec, problems: list) -> None:
    """One setting may not be searched twice ("training.optimizer" and "training.optimizer.lr")."""
    keys = sorted(spec.space)
    for a, b in zip(keys, keys[1:]):
        if b.startswith(a + "."):
            problems.append(_error(_where(b), f"is inside {a!r}, which is searched as a whole"))


def _whole(value: Any, where: str, low: int, high: int, problems: list) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        problems.append(_error(where, f"must be a whole number from {low} to {high}, got {describe(value, 40)}"))
        return low
    return value


def _one_of(value: Any, where: str, allowed: tuple, problems: list) -> str:
    if not isinstance(value, str) or value not in allowed:
        problems.append(_error(where, f"must be one of {', '.join(allowed)}, got {describe(value, 40)}"))
        return allowed[0]
    return value
