"""Automatic layout of a graph: layered top to bottom, wrapped into columns to fit a view.

Layered drawing in the Sugiyama manner. Each node sits one layer below the lowest of its
inputs (longest path from the inputs); an edge that spans several layers gets a
placeholder in each layer between, so a skip connection keeps a lane of its own. Within
a layer nodes are ordered by barycentre sweeps (down, up, a few times; the order with the
fewest crossings wins), then each node sits under the node feeding its first input,
pushed right just enough not to overlap its neighbour: a chain runs straight down.

The rule for long graphs: the layers stay in one column while the whole graph fits the
view (`view`, in pixels) at a readable zoom (`readable`, 0.7). Otherwise consecutive
layers wrap into the fewest side-by-side columns that fit at that zoom (or, when no number
does, the number that fits at the largest zoom), as even in height as that number allows.
A column break goes where the fewest edges cross between two layers (one, where the graph
narrows to a single tensor), as late as the column allows but not in its first half.
Data reads top to bottom, then on at the top of the next column to the right.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from workbench.core.graph import Graph

__all__ = ["COLUMN", "NODE_H", "NODE_W", "ROW", "VIEW", "Plan", "crossings", "layered_positions", "layout", "plan"]

NODE_W, NODE_H = 196.0, 66.0  # a node's footprint on the canvas (ui/canvas/node_item.py draws it)
ROW = 120  # vertical distance between layers, as in the bundled examples
COLUMN = 240  # horizontal distance between nodes in one layer
WRAP_GAP = 120.0  # between wrapped columns: room for the edges that go on to the next column
LANE_TURN = 30.0  # how far such an edge reaches below its source and above its target (edge_item.UP_TURN)
MARGIN = 40.0  # Fit to View leaves this much around the nodes
VIEW = (780.0, 450.0)  # the canvas of the default window (1504 x 940, bottom docks sized for a confusion matrix), in pixels: used when no view is given
READABLE = 0.7
SWEEPS = 8


@dataclass
class Plan:
    """Layers (node ids and long-edge placeholders, ordered left to right) and the links
    between consecutive layers: (upper, lower, where on the upper its port is, where on the
    lower), a port's place as a fraction of the node's width from its centre (-0.5 .. 0.5),
    so two edges into one node's two ports cross when their sources are the other way round."""

    layer: dict[str, int]
    rows: dict[int, list[str]]
    links: list[tuple[str, str, float, float]] = field(default_factory=list)
    first_parent: dict[str, str] = field(default_factory=dict)


def _layers(nodes: list[str], edges: list[tuple]) -> dict[str, int]:
    children: dict[str, list[str]] = {n: [] for n in nodes}
    indegree = dict.fromkeys(nodes, 0)
    for a, b, *_ in edges:
        children[a].append(b)
        indegree[b] += 1
    ready = [n for n in nodes if indegree[n] == 0]
    layer = dict.fromkeys(ready, 0)
    done: set[str] = set()
    while ready:
        n = ready.pop(0)
        done.add(n)
        for c in children[n]:
            layer[c] = max(layer.get(c, 0), layer[n] + 1)
            indegree[c] -= 1
            if indegree[c] == 0:
                ready.append(c)
    deepest = max((layer[n] for n in done), default=-1)
    for n in nodes:  # nodes on a cycle: below everything else, in file order
        if n not in done:
            deepest += 1
            layer[n] = deepest
    return layer


def plan(graph: Graph) -> Plan:
    """The graph's layers with placeholders, ordered to cross as few edges as the sweeps find."""
    edges = [(e.source, e.target, e.source_port, e.target_port) for e in graph.edges]
    return _plan(list(graph.nodes), edges, {n.id: n.pos[0] for n in graph})


def _plan(nodes: list[str], edges: list[tuple], x_now: dict[str, float]) -> Plan:
    layer = _layers(nodes, edges)
    result = Plan(layer, {})
    rows = result.rows
    for node_id in nodes:
        rows.setdefault(layer[node_id], []).append(node_id)
    outs: dict[str, int] = {}
    ins: dict[str, int] = {}
    for a, b, source_port, target_port in edges:
        outs[a] = max(outs.get(a, 0), source_port + 1)
        ins[b] = max(ins.get(b, 0), target_port + 1)
    for a, b, source_port, target_port in sorted(edges, key=lambda e: e[3]):
        if layer[b] <= layer[a]:
            continue  # an edge of a cycle: drawn as it falls
        prev, offset = a, (source_port + 1) / (outs[a] + 1) - 0.5
        for depth in range(layer[a] + 1, layer[b]):
            dummy = f"\0{a}:{source_port}>{b}:{target_port}@{depth}"
            rows[depth].append(dummy)
            result.links.append((prev, dummy, offset, 0.0))
            result.first_parent.setdefault(dummy, prev)
            prev, offset = dummy, 0.0
        result.links.append((prev, b, offset, (target_port + 1) / (ins[b] + 1) - 0.5))
        result.first_parent.setdefault(b, prev)
    for row in rows.values():  # start from the current left-to-right order
        row.sort(key=lambda n: x_now.get(n, x_now.get(result.first_parent.get(n, ""), 0.0) + 1.0))
    _sweep(result)
    return result


def _sweep(p: Plan) -> None:
    parents: dict[str, list[tuple[str, float]]] = {}
    kids: dict[str, list[tuple[str, float]]] = {}
    for a, b, a_at, b_at in p.links:
        parents.setdefault(b, []).append((a, a_at))
        kids.setdefault(a, []).append((b, b_at))
    depths = sorted(p.rows)
    best = {d: list(r) for d, r in p.rows.items()}
    fewest = crossings(p)
    for sweep in range(SWEEPS):
        down = sweep % 2 == 0
        neighbours, step = (parents, -1) if down else (kids, 1)
        for depth in depths if down else reversed(depths):
            index = {n: i for i, n in enumerate(p.rows.get(depth + step, []))}
            row = p.rows[depth]
            keys = {}
            for i, n in enumerate(row):
                near = [index[m] + at for m, at in neighbours.get(n, ()) if m in index]
                keys[n] = sum(near) / len(near) if near else i
            row.sort(key=lambda n: keys[n])
        count = crossings(p)
        if count < fewest:
            fewest, best = count, {d: list(r) for d, r in p.rows.items()}
        if fewest == 0:
            break
    p.rows.update(best)


def crossings(p: Plan) -> int:
    """Pairs of links between the same two consecutive layers that cross (their ends are in
    opposite orders), the measure the layered drawing minimises."""
    index = {n: i for row in p.rows.values() for i, n in enumerate(row)}
    by_layer: dict[int, list[tuple[float, float]]] = {}
    for a, b, a_at, b_at in p.links:
        depth = p.layer[a] if a in p.layer else _dummy_depth(a)
        by_layer.setdefault(depth, []).append((index[a] + a_at, index[b] + b_at))
    total = 0
    for pairs in by_layer.values():
        for i, (a1, b1) in enumerate(pairs):
            for a2, b2 in pairs[i + 1:]:
                if (a1 - a2) * (b1 - b2) < 0:
                    total += 1
    return total


def _dummy_depth(name: str) -> int:
    return int(name.rpartition("@")[2])


def _x_in_layers(p: Plan) -> dict[str, float]:
    """x: under the first parent, one COLUMN right of the left neighbour at least."""
    x: dict[str, float] = {}
    for depth in sorted(p.rows):
        last = None
        for n in p.rows[depth]:
            want = x.get(p.first_parent.get(n, ""), 0.0)
            if last is not None:
                want = max(want, last + COLUMN)
            x[n] = want
            last = want
    return x


def _bands(p: Plan, most: int) -> list[list[int]]:
    """Runs of at most `most` consecutive layers. Each break goes where the fewest links
    cross (a single edge, ideally), as late as the run allows, but not in its first half."""
    depths = sorted(p.rows)
    leaving = dict.fromkeys(depths, 0)  # links from layer d to d + 1
    for a, *_ in p.links:
        leaving[p.layer[a] if a in p.layer else _dummy_depth(a)] += 1
    most = math.ceil(len(depths) / math.ceil(len(depths) / most))  # as even as the column count allows
    bands, start = [], 0
    while start < len(depths):
        last = min(start + most, len(depths))
        if last < len(depths):
            ends = range(start + max(1, (most + 1) // 2), last + 1)
            last = min(ends, key=lambda end: (leaving[depths[end - 1]], -end))
        bands.append(depths[start:last])
        start = last
    return bands


def _wrapped(p: Plan, x: dict[str, float], most: int) -> tuple[dict[str, tuple[float, float]], float, float]:
    """Positions of every node and placeholder with at most `most` layers a column, and the size."""
    placed: dict[str, tuple[float, float]] = {}
    left, height = 0.0, 0.0
    bands = _bands(p, most)
    for band in bands:
        members = [n for d in band for n in p.rows[d]]
        low = min(x[n] for n in members)
        high = max(x[n] for n in members) + NODE_W
        for row_index, depth in enumerate(band):
            for n in p.rows[depth]:
                placed[n] = (left + x[n] - low, row_index * ROW)
        left += high - low + WRAP_GAP
        height = max(height, (len(band) - 1) * ROW + NODE_H)
    overhang = 2 * LANE_TURN if len(bands) > 1 else 0.0  # edges to the next column turn below and above
    return placed, left - WRAP_GAP, height + overhang


def _zoom(size: tuple[float, float], view: tuple[float, float]) -> float:
    return min(view[0] / (size[0] + 2 * MARGIN), view[1] / (size[1] + 2 * MARGIN))


def layout(graph: Graph, view: tuple[float, float] | None = None, readable: float = READABLE) -> dict[str, tuple[float, float]]:
    """New top-left positions for every node, anchored at the graph's current top-left.

    `view`: the size in pixels of the canvas it should fit (the default window's when None)."""
    if not graph.nodes:
        return {}
    view = view or VIEW
    p = plan(graph)
    x = _x_in_layers(p)
    best, best_zoom = None, -1.0
    for most in range(len(p.rows), 0, -1):  # the fewest columns first
        placed, width, height = _wrapped(p, x, most)
        zoom = _zoom((width, height), view)
        if zoom >= readable:
            best = placed
            break
        if zoom > best_zoom + 1e-9:
            best, best_zoom = placed, zoom
    left = min(n.pos[0] for n in graph)
    top = min(n.pos[1] for n in graph)
    return {n: (best[n][0] + left, best[n][1] + top) for n in graph.nodes}


def layered_positions(nodes, edges, row: int = ROW, column: int = COLUMN) -> dict[str, tuple[int, int]]:
    """Integer positions, in one column of layers, for ids joined by (source, target) pairs
    (an import, before it is a Graph)."""
    ids = list(nodes)
    known = set(ids)
    pairs = [(a, b, 0, i) for i, (a, b) in enumerate(edges) if a in known and b in known]
    p = _plan(ids, pairs, {})
    x = _x_in_layers(p)
    return {n: (round(x[n] / COLUMN * column), p.layer[n] * row) for n in ids}
