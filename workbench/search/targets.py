"""Does a search dimension fit the setting it names? Checked before any trial runs.

Each bound of a range (low, high) and each categorical choice is put where the key
points and checked the way the app checks that setting anyway: a node parameter by its
LayerSpec's Param (kind, range, allowed choices), a training key by `parse_config` on a
copy of the training section. So "nodes.act.name choices ['gelu', 'swishy']" is refused
with the layer's own message, while a value that is fine on its own but breaks the graph
(out_channels too small for a later reshape) is left to the trial, which fails with the
reason. No torch here: the Sweep dock runs this as the user edits.
"""

from __future__ import annotations

import copy
from typing import Any

from workbench.core import params as P
from workbench.core.shapes import Diagnostic
from workbench.core.text import describe
from workbench.search.apply import ApplyError, get_path, parse_key, set_path
from workbench.search.space import Dimension

__all__ = ["check_dimension", "searchable_kinds"]

# Which dimension types fit a parameter of each kind
_NUMERIC = {P.INT: ("int", "categorical"), P.INTS: ("int", "categorical"), P.FLOAT: ("float", "int", "categorical")}
_DATA_KEYS = ("source", "params", "val_fraction", "augment", "target")


def searchable_kinds(param_kind: str) -> tuple[str, ...]:
    """The dimension types a node parameter of `param_kind` can be searched as."""
    return _NUMERIC.get(param_kind, ("categorical",))


def check_dimension(project, dim: Dimension, space: dict[str, Dimension] | None = None) -> list[Diagnostic]:
    """Problems of `dim` in `project`; `space` (the other dimensions) widens what a key below
    training.optimizer may name when the optimizer type is searched too."""
    where = f"search.space[{describe(dim.key, 80)}]"
    try:
        target = parse_key(dim.key)
    except ApplyError as exc:
        return [Diagnostic(None, "error", f"unknown setting: {exc}", where)]
    if target.section == "nodes":
        return _check_node(project, target.node_id, target.path[0], dim, where)
    if target.section == "training":
        return _check_training(project.training, target.path, dim, where, space or {})
    return _check_data(project.data, target.path, dim, where)


def _check_node(project, node_id: str, name: str, dim: Dimension, where: str) -> list[Diagnostic]:
    graph = project.graph
    if node_id not in graph:
        return [Diagnostic(None, "error", f"the graph has no node {node_id!r}", where)]
    node = graph.node(node_id)
    if graph.is_missing(node_id):
        return [Diagnostic(node_id, "error", f"{node.type} is not an installed layer", where)]
    spec = graph.spec(node_id)
    try:
        param = spec.param(name)
    except KeyError:
        listing = ", ".join(p.name for p in spec.params) or "none"
        return [Diagnostic(node_id, "error", f"{spec.name} has no parameter {name!r} (it has: {listing})", where)]
    allowed = searchable_kinds(param.kind)
    if dim.type not in allowed:
        return [Diagnostic(node_id, "error", f"{spec.name}.{name} ({_kind_words(param.kind)}) can be searched as "
                                             f"{' or '.join(allowed)}, not {dim.type}", where)]
    problems = []
    for value in dim.candidates():
        try:
            param.validate(value)
        except P.ParamError as exc:
            problems.append(Diagnostic(node_id, "error", f"{_which(dim, value)} {describe(value, 40)}: "
                                                         f"{spec.name}.{name} {exc.reason}", where))
    return problems


def _check_training(training: dict, path: tuple[str, ...], dim: Dimension, where: str,
                    space: dict[str, Dimension]) -> list[Diagnostic]:
    from workbench.training.config import LOSSES, OPTIMIZERS, SCHEDULERS, ConfigError, TrainingConfig, parse_config

    top = path[0]
    known = sorted(set(TrainingConfig.__dataclass_fields__) - {"extra"})
    if top not in known:
        return [Diagnostic(None, "error", f"unknown setting: training has no {top!r} (it has: {', '.join(known)})",
                           where)]
    tables = {"optimizer": OPTIMIZERS, "loss": LOSSES, "scheduler": SCHEDULERS}
    if top in tables and len(path) > 1:
        table, kinds = tables[top], _section_types(training.get(top))
        searched = space.get(f"training.{top}.type")
        kinds += [c for c in (searched.choices if searched else ()) if isinstance(c, str) and c not in kinds]
        allowed = {"type", "lr"} if top == "optimizer" else {"type"}
        for kind in kinds:
            allowed |= table.get(kind, set())
        if len(path) > 2 or path[1] not in allowed:
            return [Diagnostic(None, "error", f"unknown setting: training.{top} ({', '.join(kinds) or 'none'}) has no "
                                              f"{'.'.join(path[1:])!r} (it takes: {', '.join(sorted(allowed))})",
                               where)]
    problems = []
    for value in dim.candidates():
        trial = copy.deepcopy(training)
        set_path(trial, path, value)
        try:
            parse_config(trial)
        except ConfigError as exc:
            problems.append(Diagnostic(None, "error", f"{_which(dim, value)} {describe(value, 40)}: {exc}", where))
    return problems


def _section_types(section: Any) -> list[str]:
    """The optimizer/loss/scheduler types a key below one may meet: the section's own type."""
    if isinstance(section, str):
        return [section]
    if isinstance(section, dict) and isinstance(section.get("type"), str):
        return [section["type"]]
    return []


def _check_data(data: dict, path: tuple[str, ...], dim: Dimension, where: str) -> list[Diagnostic]:
    if path[0] not in _DATA_KEYS and path[0] not in data:
        return [Diagnostic(None, "error", f"unknown setting: data has no {path[0]!r} (it has: "
                                          f"{', '.join(sorted(set(_DATA_KEYS) | set(data)))})", where)]
    if len(path) > 1 and not isinstance(get_path(data, path[:-1]), (dict, type(None))):
        return [Diagnostic(None, "error", f"data.{'.'.join(path[:-1])} is not an object", where)]
    if path == ("val_fraction",):
        bad = [v for v in dim.candidates() if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < 1]
        return [Diagnostic(None, "error", f"{_which(dim, v)} {describe(v, 40)}: data.val_fraction must be a number "
                                          f"from 0 up to but not including 1", where) for v in bad]
    return []


def _which(dim: Dimension, value: Any) -> str:
    if dim.type == "categorical":
        return "choice"
    return "low" if value == dim.low else "high"


def _kind_words(kind: str) -> str:
    return {P.INT: "a whole number", P.INTS: "whole numbers", P.FLOAT: "a number", P.BOOL: "true/false",
            P.CHOICE: "a choice", P.STR: "text", P.PADDING: "a padding", P.SHAPE: "a shape"}.get(kind, kind)
