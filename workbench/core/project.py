"""The `.wbproj` project file: one versioned JSON document, saved atomically.

Loading is strict about structure and says exactly where a file is wrong
("graph.nodes[2].params: must be an object"), keeps keys it does not know so a newer
app's additions survive a round trip, migrates older versions in order, and refuses
newer ones. A project file is data: loading one never runs code.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from workbench.core.atomic import atomic_write_bytes, atomic_write_text  # noqa: F401 - re-exported for the writers
from workbench.core.catalog import Catalog
from workbench.core.graph import Graph, GraphError, collector_paused
from workbench.core.text import describe, shorten
from workbench.core.jsonfile import JsonFileError, check_tree, load_json

FORMAT = "model-workbench-project"
VERSION = 1
SUFFIX = ".wbproj"

DEFAULT_DATA = {"source": "digits", "params": {}, "val_fraction": 0.2, "augment": []}
DEFAULT_TRAINING = {
    "epochs": 10,
    "batch_size": 64,
    "optimizer": {"type": "Adam", "lr": 0.001},
    "loss": {"type": "CrossEntropyLoss"},
    "device": "auto",
    "seed": 0,
}

__all__ = ["Project", "ProjectError", "load_project", "save_project", "project_from_dict", "VERSION"]


class ProjectError(Exception):
    """A project file cannot be read; the message says where and why."""


# Ordered migrators: MIGRATIONS[v] turns a version-v document into version v + 1.
MIGRATIONS: dict[int, Callable[[dict], dict]] = {}

_KNOWN_KEYS = frozenset({"format", "version", "name", "graph", "data", "training", "blocks"})
_GRAPH_KEYS = frozenset({"nodes", "edges"})


@dataclass
class Project:
    name: str
    graph: Graph
    data: dict = field(default_factory=lambda: copy.deepcopy(DEFAULT_DATA))
    training: dict = field(default_factory=lambda: copy.deepcopy(DEFAULT_TRAINING))
    extra: dict = field(default_factory=dict)  # unknown top-level keys, written back as they were
    graph_extra: dict = field(default_factory=dict)  # unknown keys inside "graph"
    path: Path | None = None

    def to_dict(self) -> dict:
        graph = self.graph.to_dict()
        graph.update(copy.deepcopy(self.graph_extra))
        doc: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "name": self.name,
            "graph": graph,
            "data": copy.deepcopy(self.data),
            "training": copy.deepcopy(self.training),
        }
        if self.graph.blocks:
            doc["blocks"] = [copy.deepcopy(d) for d in self.graph.blocks.values()]
        doc.update(copy.deepcopy(self.extra))
        return doc


def load_project(path: str | os.PathLike, catalog: Catalog | None = None) -> Project:
    """Read a project file: a regular file of bounded size, bounded nesting and numbers (core/jsonfile.py)."""
    path = Path(path)
    try:
        doc = load_json(path, what="project file")
    except JsonFileError as exc:
        raise ProjectError(str(exc)) from None
    try:
        project = project_from_dict(doc, catalog, default_name=path.stem)
    except ProjectError as exc:
        raise ProjectError(f"{path}: {exc}") from None
    project.path = path
    return project


def project_from_dict(doc: Any, catalog: Catalog | None = None, default_name: str = "untitled") -> Project:
    _expect(doc, dict, "the document")
    try:
        check_tree(doc)  # a document built in memory (a snapshot, a paste) gets the file's bounds
    except JsonFileError as exc:
        raise ProjectError(str(exc)) from None
    if doc.get("format") != FORMAT:
        raise ProjectError(f"not a Model Workbench project (format is {describe(doc.get('format'))}, expected {FORMAT!r})")
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise ProjectError(f"version: must be a whole number, got {describe(version, 40)}")
    if version > VERSION:
        raise ProjectError(
            f"was saved by a newer Model Workbench (file format version {version}; this app reads up to "
            f"{VERSION}). Update the app to open it."
        )
    if version < VERSION:  # migrators rewrite a copy; a current document is only read (and copied where kept)
        doc = migrate(copy.deepcopy(doc), version)
    name = doc.get("name", default_name)
    _expect(name, str, "name")
    graph_doc = doc.get("graph", {"nodes": [], "edges": []})
    _expect(graph_doc, dict, "graph")
    graph = _load_graph(graph_doc, catalog)
    graph.blocks = _load_blocks(doc.get("blocks", []), catalog)
    data = doc.get("data", DEFAULT_DATA)
    _expect(data, dict, "data")
    training = doc.get("training", DEFAULT_TRAINING)
    _expect(training, dict, "training")
    return Project(
        name=name,
        graph=graph,
        data=copy.deepcopy(data),
        training=copy.deepcopy(training),
        extra={k: copy.deepcopy(v) for k, v in doc.items() if k not in _KNOWN_KEYS},
        graph_extra={k: copy.deepcopy(v) for k, v in graph_doc.items() if k not in _GRAPH_KEYS},
    )


def migrate(doc: dict, version: int) -> dict:
    for v in range(version, VERSION):
        if v not in MIGRATIONS:
            raise ProjectError(f"file format version {version} is too old to open (no migration from {v})")
        doc = MIGRATIONS[v](doc)
    doc["version"] = VERSION
    return doc


def _load_graph(graph_doc: dict, catalog: Catalog | None) -> Graph:
    nodes = graph_doc.get("nodes", [])
    edges = graph_doc.get("edges", [])
    _expect(nodes, list, "graph.nodes")
    _expect(edges, list, "graph.edges")
    for i, node in enumerate(nodes):
        where = f"graph.nodes[{i}]"
        _require_text(node, ("id", "type"), where)
        _expect(node.get("params", {}), dict, f"{where}.params")
        pos = node.get("pos", [0, 0])
        if not (isinstance(pos, list) and len(pos) == 2 and all(_is_number(v) for v in pos)):
            raise ProjectError(f"{where}.pos: must be two numbers [x, y], got {json.dumps(pos)}")
    for i, edge in enumerate(edges):
        where = f"graph.edges[{i}]"
        _require_text(edge, ("source", "target"), where)
        for key in ("source_port", "target_port"):
            port = edge.get(key, 0)
            if not isinstance(port, int) or isinstance(port, bool) or port < 0:
                raise ProjectError(f"{where}.{key}: must be a whole number >= 0, got {json.dumps(port)}")
    graph = Graph(catalog)
    with collector_paused():
        for i, node in enumerate(nodes):
            try:
                graph.restore_node(node)
            except GraphError as exc:
                raise ProjectError(f"graph.nodes[{i}]: {exc}") from None
        for i, edge in enumerate(edges):
            try:
                graph.restore_edge(edge)
            except GraphError as exc:
                raise ProjectError(f"graph.edges[{i}]: {exc}") from None
    return graph


def _load_blocks(blocks: Any, catalog: Catalog | None) -> dict[str, dict]:
    """The top-level "blocks" list (core/blocks.py) as name -> definition; each checked like the graph."""
    _expect(blocks, list, "blocks")
    loaded: dict[str, dict] = {}
    for i, definition in enumerate(blocks):
        where = f"blocks[{i}]"
        _expect(definition, dict, where)
        name = definition.get("name")
        _expect(name, str, f"{where}.name")
        if not name:
            raise ProjectError(f"{where}.name: must not be empty")
        if name in loaded:
            raise ProjectError(f"{where}.name: a block named {describe(name)} is defined twice")
        inner = definition.get("graph", {"nodes": [], "edges": []})
        _expect(inner, dict, f"{where}.graph")
        try:
            _load_graph(inner, catalog)
        except ProjectError as exc:
            raise ProjectError(f"{where}.{exc}") from None
        loaded[name] = copy.deepcopy(definition)
    return loaded


def _require_text(item: Any, keys: tuple[str, ...], where: str) -> None:
    """`item` is an object holding each of `keys` as text."""
    _expect(item, dict, where)
    for key in keys:
        if key not in item:
            raise ProjectError(f"{where}: missing {key!r}")
        _expect(item[key], str, f"{where}.{key}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _expect(value: Any, kind: type, where: str) -> None:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = {dict: "an object", list: "a list", str: "text", int: "a whole number"}
        raise ProjectError(f"{where}: must be {names.get(kind, kind.__name__)}, got {_describe(value)}")


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    return shorten(json.dumps(value), 40)


def save_project(project: Project, path: str | os.PathLike | None = None) -> Path:
    """Write atomically: temp file in the same folder, fsync, rename over the target."""
    target = Path(path or project.path or f"{project.name}{SUFFIX}")
    text = json.dumps(project.to_dict(), indent=2, ensure_ascii=False) + "\n"
    atomic_write_text(target, text)
    project.path = target
    return target
