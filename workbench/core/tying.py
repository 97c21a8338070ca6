"""Weight tying: a Linear output head that shares its weight with an Embedding.

Language models often read the logits off the token table itself (Press & Wolf 2017;
GPT-2, nanoGPT): the head's [vocab, d] weight *is* the Embedding's [vocab, d] table, one
parameter under two names. A Linear names the Embedding node in its `tie_weight` param.
Shape inference reports a tie that cannot hold as a Diagnostic on the Linear; compile and
codegen then share the parameter, the summary counts it once, and a state dict keeps both
keys, holding the same tensor.

The table takes the head's parameter (`embed.weight = head.weight`, as nanoGPT writes it),
so it starts from the Linear's initialisation: nn.Embedding's N(0, 1) rows would make the
initial logits ~√d times too large (measured: a first loss of 114 instead of ln 65 = 4.2 for
a d=128 character model). An Embedding's padding_idx then stops only the lookup's gradient:
the head still trains that row.
"""

from __future__ import annotations

from typing import Iterator

from workbench.core.graph import Graph
from workbench.core.tensors import TensorInfo

__all__ = ["TIE_PARAM", "assignments", "tie_problems", "tie_target", "tied_numel", "valid_ties"]

TIE_PARAM = "tie_weight"
# Allow-list: which layer type may share its weight with which.
TIES = {"Linear": "Embedding"}


def _named(resolved: dict | None) -> str | None:
    target = (resolved or {}).get(TIE_PARAM)
    return target or None  # an empty field means "not tied"


def _linear_input(graph: Graph, node_id: str, outputs: dict) -> TensorInfo | None:
    edges = graph.in_edges(node_id)
    if len(edges) != 1:
        return None
    outs = outputs.get(edges[0].source)
    port = edges[0].source_port
    return outs[port] if outs is not None and port < len(outs) else None


def tie_target(graph: Graph, node_id: str, outputs: dict, resolved: dict, live: set) -> tuple[str | None, str | None]:
    """(the node whose weight `node_id` shares, or None; the reason the tie cannot hold, or None).

    Both are None when the node is not tied, or when what the check needs is unknown
    because another node has an error of its own (that node's diagnostic says why).
    """
    node = graph.nodes[node_id]
    target = _named(resolved.get(node_id))
    wanted = TIES.get(node.type)
    if target is None or wanted is None:
        return None, None
    other = graph.nodes.get(target)
    if other is None:
        return None, f"no node {target!r} in this graph: name the {wanted} whose weight this {node.type} should share"
    if other.type != wanted:
        return None, f"{target!r} is a {other.type}, not an {wanted}: only an {wanted}'s weight can be shared here"
    if node_id in live and target not in live:
        return None, f"{wanted} {target!r} does not lead to any Output, so it is not in the model: connect it or clear {TIE_PARAM}"
    table, x = resolved.get(target), _linear_input(graph, node_id, outputs)
    if table is None or x is None:
        return None, None
    have = [table["num_embeddings"], table["embedding_dim"]]
    mine = [resolved[node_id]["out_features"], x.shape[-1]]
    if have != mine:
        return None, (
            f"{wanted} {target!r} has a {have} weight but this {node.type}'s [out_features, in_features] is {mine}: "
            f"set out_features to {have[0]} and feed it {have[1]} features"
        )
    return target, None


def tie_problems(graph: Graph, outputs: dict, resolved: dict, live: set) -> Iterator[tuple[str, str]]:
    """(node id, message) for every tie that cannot hold."""
    for node_id, params in resolved.items():
        if _named(params) is not None:
            _, problem = tie_target(graph, node_id, outputs, resolved, live)
            if problem is not None:
                yield node_id, problem


def valid_ties(graph: Graph, outputs: dict, resolved: dict, live: set) -> dict[str, str]:
    """Tied node id -> the node whose weight it shares, for the ties that hold in the
    model (both nodes feed an Output)."""
    ties = {}
    for node_id, params in resolved.items():
        if node_id in live and _named(params) is not None:
            target, _ = tie_target(graph, node_id, outputs, resolved, live)
            if target is not None:
                ties[node_id] = target
    return ties


def assignments(ties) -> list[tuple[str, str]]:
    """(a, b) pairs meaning `a.weight = b.weight`, in order, for (head, table) ties: a table
    takes its first head's parameter, and every further head takes the table's."""
    done: set[str] = set()
    out = []
    for head, table in ties:
        out.append((head, table) if table in done else (table, head))
        done.add(table)
    return out


def tied_numel(resolved: dict, inputs) -> int:
    """Elements of the weight a tied Linear shares (counted once, on the Embedding)."""
    return resolved["out_features"] * inputs[0].shape[-1]
