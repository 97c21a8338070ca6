"""Shared fixtures and builders for the export tests (imported by each test module)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.core.graph import Graph
from workbench.core.project import Project, load_project
from workbench.paths import EXAMPLES


@pytest.fixture
def weights_cache(resnet18_torch_home, monkeypatch) -> Path:
    """TORCH_HOME at the fake ImageNet cache (tests/conftest.py) for one test."""
    monkeypatch.setenv("TORCH_HOME", str(resnet18_torch_home))
    return resnet18_torch_home


def example(name: str) -> Project:
    return load_project(EXAMPLES / f"{name}.wbproj")


def chain(input_shape, layers, dtype="float32", name="probe") -> Project:
    """Input -> layers (a list of (type, params)) -> Output, as a project."""
    graph = Graph()
    graph.add_node("x", "Input", {"shape": list(input_shape), "dtype": dtype})
    previous = "x"
    for i, (kind, params) in enumerate(layers):
        node_id = f"{kind.lower()}{i}"
        graph.add_node(node_id, kind, params)
        graph.connect(previous, node_id)
        previous = node_id
    graph.add_node("y", "Output")
    graph.connect(previous, "y")
    return Project(name=name, graph=graph)
