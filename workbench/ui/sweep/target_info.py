"""What a field the user wants to search holds: its value, the dimension types that fit it,
and its own options (a choice parameter's choices, the optimizer types...). Qt-free."""

from __future__ import annotations

from typing import Any

from workbench.core import params as P
from workbench.search.apply import ApplyError, get_path, parse_key
from workbench.search.targets import searchable_kinds

__all__ = ["describe_target"]


def describe_target(project, key: str) -> tuple[Any, tuple[str, ...], tuple]:
    try:
        target = parse_key(key)
    except ApplyError:
        return None, ("categorical",), ()
    if target.section == "nodes":
        graph = project.graph
        if target.node_id not in graph or graph.is_missing(target.node_id):
            return None, ("categorical",), ()
        try:
            param = graph.spec(target.node_id).param(target.path[0])
        except KeyError:
            return None, ("categorical",), ()
        value = graph.node(target.node_id).params.get(param.name, param.default)
        options = param.choices if param.kind == P.CHOICE else ()
        if param.kind == P.BOOL:
            options = (True, False)
        return value, searchable_kinds(param.kind), tuple(options)
    section = project.training if target.section == "training" else project.data
    value = get_path(section, target.path)
    if target.section == "training" and target.path[-1] == "type" and len(target.path) == 2:
        from workbench.training.config import LOSSES, OPTIMIZERS, SCHEDULERS

        table = {"optimizer": OPTIMIZERS, "loss": LOSSES, "scheduler": SCHEDULERS}.get(target.path[0], {})
        return value, ("categorical",), tuple(table)
    if isinstance(value, bool) or isinstance(value, str):
        return value, ("categorical",), (True, False) if isinstance(value, bool) else ()
    if isinstance(value, float):
        return value, ("float", "categorical"), ()
    if isinstance(value, int):
        return value, ("int", "categorical"), ()
    return value, ("float", "int", "categorical"), ()
