"""Put sampled values into a copy of a project: dotted keys to graph params and settings.

    nodes.<id>.<param>       the node's parameter (nodes.conv1.out_channels)
    training.<a>.<b>...      a key of the training section (training.optimizer.lr)
    data.<a>.<b>...          a key of the data section (data.val_fraction, data.params.x)

The original project is never touched: a trial trains a copy, and "Apply best" in the
GUI turns the same assignments into one undoable edit (`assignments`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from workbench.core.project import Project

__all__ = ["ApplyError", "Target", "parse_key", "apply_values", "assignments", "set_path", "get_path"]


class ApplyError(Exception):
    """A key names something the project does not have (a node deleted since, a bad path)."""


@dataclass(frozen=True)
class Target:
    section: str  # nodes | training | data
    node_id: str | None
    path: tuple[str, ...]  # the param name for a node; the keys below the section otherwise


def parse_key(key: str) -> Target:
    parts = key.split(".") if isinstance(key, str) else []
    if len(parts) < 2 or not all(parts) or parts[0] not in ("nodes", "training", "data"):
        raise ApplyError(f"{key!r} is not a setting: keys look like training.optimizer.lr, data.val_fraction "
                         f"or nodes.<node id>.<parameter>")
    if parts[0] == "nodes":
        if len(parts) != 3:
            raise ApplyError(f"{key!r}: a node key is nodes.<node id>.<parameter>")
        return Target("nodes", parts[1], (parts[2],))
    return Target(parts[0], None, tuple(parts[1:]))


def get_path(section: dict, path: tuple[str, ...], default: Any = None) -> Any:
    value: Any = section
    for part in path:
        if not isinstance(value, dict) or part not in value:
            return default
        value = value[part]
    return value


def set_path(section: dict, path: tuple[str, ...], value: Any) -> None:
    """Set `section[a][b]... = value`, making the dicts on the way (a string shorthand such as
    "optimizer": "Adam" becomes {"type": "Adam"} first)."""
    here = section
    for part in path[:-1]:
        child = here.get(part)
        if isinstance(child, str):
            child = {"type": child}
        elif not isinstance(child, dict):
            child = {}
        here[part] = child
        here = child
    here[path[-1]] = copy.deepcopy(value)


def assignments(project: Project, values: dict[str, Any]) -> tuple[dict[str, dict], dict, dict]:
    """(node id -> new params, new training, new data) for `values`; raises ApplyError."""
    node_params: dict[str, dict] = {}
    training = copy.deepcopy(project.training)
    data = copy.deepcopy(project.data)
    for key, value in values.items():
        target = parse_key(key)
        if target.section == "nodes":
            if target.node_id not in project.graph:
                raise ApplyError(f"{key}: the graph has no node {target.node_id!r}")
            params = node_params.setdefault(target.node_id, copy.deepcopy(project.graph.node(target.node_id).params))
            params[target.path[0]] = copy.deepcopy(value)
        else:
            set_path(training if target.section == "training" else data, target.path, value)
    return node_params, training, data


def apply_values(project: Project, values: dict[str, Any]) -> Project:
    """A copy of `project` with `values` set (same path, so data paths and run folders resolve alike)."""
    node_params, training, data = assignments(project, values)
    graph = project.graph.copy()
    for node_id, params in node_params.items():
        graph.set_params(node_id, params)
    return Project(project.name, graph, data, training, copy.deepcopy(project.extra),
                   copy.deepcopy(project.graph_extra), path=project.path)
