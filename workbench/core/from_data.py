"""Sizes the data decides: a parameter written `{"from_data": "vocab_size"}`.

A language model's Embedding.num_embeddings and its last Linear.out_features must equal
the vocabulary the tokenizer learned, which is known only once the corpus is read; a
classifier's last layer must equal the class count. Writing the fact instead of a number
keeps the graph right when the data changes (a Chinese corpus has thousands of
characters, an English one under a hundred) without editing the graph.

`resolve_from_data(graph, facts)` returns a copy of the graph with each such value
replaced by the fact (see workbench.data.facts for where facts come from), ready for
shape inference, compile, codegen and export, which never see the form. A parameter may
name only the facts its schema allows (`Param.from_data`); a value that names another,
or a fact the data does not give, is left as it is, and shape inference reports it on
its node through Param.validate, like any other invalid value.
"""

from __future__ import annotations

from typing import Mapping

from workbench.core.graph import Graph
from workbench.core.params import from_data_fact

__all__ = ["resolve_from_data", "data_params", "usable_fact"]


def usable_fact(value) -> int | None:
    """A fact's value when it can be a size (a whole number >= 1), else None."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    return None


def data_params(graph: Graph) -> dict[str, dict[str, str]]:
    """node id -> {parameter: fact} for every parameter written in the from_data form."""
    found: dict[str, dict[str, str]] = {}
    for node in graph:
        for name, value in node.params.items():
            fact = from_data_fact(value)
            if fact is not None:
                found.setdefault(node.id, {})[name] = fact
    return found


def resolve_from_data(graph: Graph, facts: Mapping[str, object] | None) -> Graph:
    """`graph` with every allowed `{"from_data": fact}` value replaced by `facts[fact]`.

    Returns `graph` itself when nothing can be replaced (no copy for the usual graph), else
    a copy: the caller's graph, and so the project file, keep the form."""
    facts = facts or {}
    changes: dict[str, dict] = {}
    for node_id, named in data_params(graph).items():
        if graph.is_missing(node_id):
            continue
        spec = graph.spec(node_id)
        allowed = {p.name: p.from_data for p in spec.params}
        params = dict(graph.node(node_id).params)
        for name, fact in named.items():
            value = usable_fact(facts.get(fact))
            if value is not None and fact in allowed.get(name, ()):
                params[name] = value
        if params != graph.node(node_id).params:
            changes[node_id] = params
    if not changes:
        return graph
    resolved = graph.copy()
    for node_id, params in changes.items():
        resolved.set_params(node_id, params)
    return resolved
