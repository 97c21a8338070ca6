"""What changed between two projects: settings key by key, and the graph node by node.

Used to compare two runs (each run folder keeps the project as it was trained). Settings
(the `training` and `data` sections, and the name) are compared as dotted keys
("training.optimizer.lr"); lists are compared whole. The graph is compared by node id:
added, removed, and changed nodes (type, params key by key), and edges added or
removed. A renamed node is matched by the rename the project recorded (each node keeps
its earlier ids in `renamed_from`, core/rename.py), in either direction, so it shows as
renamed (and changed, if it was), and its edges as unchanged; matching by type and
position was not chosen, since moving or duplicating a node would fool it. Canvas
positions are ignored: moving a node changes nothing that trains. Block definitions used
by both projects are compared the same way, one level down.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from workbench.core.project import Project

__all__ = ["Change", "GraphDiff", "NodeChange", "ProjectDiff", "diff_projects", "diff_graphs", "format_diff"]

_MISSING: Any = object()
_SECTIONS = ("training", "data")


@dataclass(frozen=True)
class Change:
    """One key: `old` is absent when it was added, `new` when it was removed."""

    key: str
    old: Any = _MISSING
    new: Any = _MISSING

    @property
    def added(self) -> bool:
        return self.old is _MISSING

    @property
    def removed(self) -> bool:
        return self.new is _MISSING

    def to_json(self) -> dict:
        out: dict = {"key": self.key}
        if not self.added:
            out["old"] = self.old
        if not self.removed:
            out["new"] = self.new
        return out

    def text(self) -> str:
        if self.added:
            return f"{self.key}: added {_value(self.new)}"
        if self.removed:
            return f"{self.key}: removed (was {_value(self.old)})"
        return f"{self.key}: {_value(self.old)} -> {_value(self.new)}"


@dataclass
class NodeChange:
    id: str
    old_type: str
    new_type: str
    params: list[Change] = field(default_factory=list)
    old_id: str | None = None  # set when the node was renamed

    def to_json(self) -> dict:
        out: dict = {"id": self.id, "params": [c.to_json() for c in self.params]}
        if self.old_id is not None:
            out["old_id"] = self.old_id
        if self.old_type != self.new_type:
            out["type"] = {"old": self.old_type, "new": self.new_type}
        return out

    def text(self) -> str:
        parts = [f"renamed from {self.old_id}"] if self.old_id is not None else []
        parts += [f"type {self.old_type} -> {self.new_type}"] if self.old_type != self.new_type else []
        parts += [c.text() for c in self.params]
        return f"~ node {self.id} ({self.new_type}): " + "; ".join(parts)


@dataclass
class GraphDiff:
    added: list[dict] = field(default_factory=list)  # node dicts as in the project file
    removed: list[dict] = field(default_factory=list)
    changed: list[NodeChange] = field(default_factory=list)
    edges_added: list[dict] = field(default_factory=list)
    edges_removed: list[dict] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.edges_added or self.edges_removed)

    def to_json(self) -> dict:
        return {"nodes_added": self.added, "nodes_removed": self.removed,
                "nodes_changed": [c.to_json() for c in self.changed],
                "edges_added": self.edges_added, "edges_removed": self.edges_removed}

    def lines(self) -> list[str]:
        out = [f"+ node {n['id']} ({n['type']}){_params_text(n.get('params'))}" for n in self.added]
        out += [f"- node {n['id']} ({n['type']})" for n in self.removed]
        out += [c.text() for c in self.changed]
        out += [f"+ edge {_edge_text(e)}" for e in self.edges_added]
        out += [f"- edge {_edge_text(e)}" for e in self.edges_removed]
        return out


@dataclass
class ProjectDiff:
    settings: list[Change] = field(default_factory=list)
    graph: GraphDiff = field(default_factory=GraphDiff)
    blocks_added: list[str] = field(default_factory=list)
    blocks_removed: list[str] = field(default_factory=list)
    blocks_changed: dict[str, GraphDiff] = field(default_factory=dict)

    @property
    def same_graph(self) -> bool:
        """The networks are the same (the blocks they use included); settings may differ."""
        return self.graph.empty and not (self.blocks_added or self.blocks_removed or self.blocks_changed)

    @property
    def empty(self) -> bool:
        return not self.settings and self.same_graph

    def to_json(self) -> dict:
        return {"settings": [c.to_json() for c in self.settings], "graph": self.graph.to_json(),
                "blocks": {"added": self.blocks_added, "removed": self.blocks_removed,
                           "changed": {name: d.to_json() for name, d in self.blocks_changed.items()}}}


def diff_projects(old: Project, new: Project) -> ProjectDiff:
    settings = [] if old.name == new.name else [Change("name", old.name, new.name)]
    for section in _SECTIONS:
        settings += diff_values(getattr(old, section), getattr(new, section), section)
    old_blocks, new_blocks = old.graph.blocks, new.graph.blocks
    changed = {}
    for name in sorted(old_blocks.keys() & new_blocks.keys()):
        inner = diff_graphs(old_blocks[name].get("graph", {}), new_blocks[name].get("graph", {}))
        if not inner.empty:
            changed[name] = inner
    return ProjectDiff(
        settings=settings,
        graph=diff_graphs(old.graph.to_dict(), new.graph.to_dict()),
        blocks_added=sorted(new_blocks.keys() - old_blocks.keys()),
        blocks_removed=sorted(old_blocks.keys() - new_blocks.keys()),
        blocks_changed=changed,
    )


def diff_values(old: Any, new: Any, prefix: str) -> list[Change]:
    """Dotted-key changes between two JSON values; dicts are walked, anything else compared whole."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[Change] = []
        for key in list(old) + [k for k in new if k not in old]:
            where = f"{prefix}.{key}" if prefix else str(key)
            if key not in new:
                out.append(Change(where, old=old[key]))
            elif key not in old:
                out.append(Change(where, new=new[key]))
            else:
                out += diff_values(old[key], new[key], where)
        return out
    return [] if _same(old, new) else [Change(prefix, old, new)]


def diff_graphs(old: dict, new: dict) -> GraphDiff:
    """Compare two serialised graphs ({"nodes", "edges"}) by node id, ignoring positions."""
    old_nodes = {n["id"]: n for n in old.get("nodes", [])}
    new_nodes = {n["id"]: n for n in new.get("nodes", [])}
    renamed = _renames(old_nodes, new_nodes)  # old id -> new id
    matched = set(renamed.values())
    diff = GraphDiff(
        added=[_node_view(n) for i, n in new_nodes.items() if i not in old_nodes and i not in matched],
        removed=[_node_view(n) for i, n in old_nodes.items() if i not in new_nodes and i not in renamed],
    )
    for node_id, before in old_nodes.items():
        new_id = renamed.get(node_id, node_id)
        after = new_nodes.get(new_id)
        if after is None:
            continue
        params = diff_values(before.get("params") or {}, after.get("params") or {}, "")
        if params or before["type"] != after["type"] or new_id != node_id:
            old_id = node_id if new_id != node_id else None
            diff.changed.append(NodeChange(new_id, before["type"], after["type"], params, old_id))
    old_edges = [_edge_key(e, renamed) for e in old.get("edges", [])]
    new_edges = [_edge_key(e) for e in new.get("edges", [])]
    old_set, new_set = set(old_edges), set(new_edges)
    diff.edges_added = [_edge_dict(k) for k in new_edges if k not in old_set]
    diff.edges_removed = [_edge_dict(k) for k in old_edges if k not in new_set]
    return diff


def format_diff(diff: ProjectDiff) -> list[str]:
    """Readable lines, settings first, then the graph, then each block that changed."""
    if diff.empty:
        return ["no differences (canvas positions are not compared)"]
    lines: list[str] = []
    if diff.settings:
        lines += ["settings:"] + [f"  {c.text()}" for c in diff.settings]
    if not diff.graph.empty:
        lines += ["graph:"] + [f"  {line}" for line in diff.graph.lines()]
    lines += [f"+ block {name}" for name in diff.blocks_added]
    lines += [f"- block {name}" for name in diff.blocks_removed]
    for name, inner in diff.blocks_changed.items():
        lines += [f"block {name}:"] + [f"  {line}" for line in inner.lines()]
    return lines


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON values (so 1 == 1.0 but True != 1)."""
    return (type(a) is type(b) or (_is_number(a) and _is_number(b))) and a == b


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _value(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False, separators=(", ", ": "))


def _node_view(node: dict) -> dict:
    return {"id": node["id"], "type": node["type"], "params": node.get("params") or {}}


def _params_text(params: dict | None) -> str:
    if not params:
        return ""
    return " " + ", ".join(f"{k}={_value(v)}" for k, v in params.items())


def _renames(old_nodes: dict, new_nodes: dict) -> dict[str, str]:
    """Old id -> new id for nodes whose recorded earlier ids (`renamed_from`) link an id only
    the old graph has with one only the new graph has (the new graph renamed it, or the old
    graph is the later one and its node was renamed from the new graph's id)."""
    gone = [i for i in old_nodes if i not in new_nodes]
    fresh = [i for i in new_nodes if i not in old_nodes]
    found: dict[str, str] = {}
    for new_id in fresh:  # renamed after the old snapshot: the latest earlier id that the old graph has
        for earlier in reversed(_history(new_nodes[new_id])):
            if earlier in gone and earlier not in found:
                found[earlier] = new_id
                break
    taken = set(found.values())
    for old_id in gone:  # the old snapshot is the later one
        if old_id in found:
            continue
        for earlier in reversed(_history(old_nodes[old_id])):
            if earlier in fresh and earlier not in taken:
                found[old_id] = earlier
                taken.add(earlier)
                break
    return found


def _history(node: dict) -> list[str]:
    earlier = node.get("renamed_from")
    return [i for i in earlier if isinstance(i, str)] if isinstance(earlier, list) else []


def _edge_key(edge: dict, renamed: dict | None = None) -> tuple:
    ids = renamed or {}
    return (ids.get(edge["source"], edge["source"]), edge.get("source_port", 0),
            ids.get(edge["target"], edge["target"]), edge.get("target_port", 0))


def _edge_dict(key: tuple) -> dict:
    source, source_port, target, target_port = key
    out: dict = {"source": source, "target": target}
    if source_port:
        out["source_port"] = source_port
    if target_port:
        out["target_port"] = target_port
    return out


def _edge_text(edge: dict) -> str:
    source = edge["source"] + (f":{edge['source_port']}" if edge.get("source_port") else "")
    target = edge["target"] + (f":{edge['target_port']}" if edge.get("target_port") else "")
    return f"{source} -> {target}"
