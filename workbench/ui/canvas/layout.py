"""Layered top-to-bottom layout for the auto-layout command (pure Python).

Nodes go into layers by longest path from the inputs; an edge that spans several
layers gets placeholder points in between, so a skip connection keeps a lane of its
own beside the layers it skips. Within a layer, nodes are ordered by a few barycentre
sweeps; each node then sits under the node feeding its first input, pushed right
just enough not to overlap its neighbours.
"""

from __future__ import annotations

from workbench.core.graph import Graph

X_STEP = 240.0
Y_STEP = 120.0


def _layers(graph: Graph) -> dict[str, int]:
    parents: dict[str, list[str]] = {n: [] for n in graph.nodes}
    children: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for e in graph.edges:
        parents[e.target].append(e.source)
        children[e.source].append(e.target)
    indegree = {n: len(p) for n, p in parents.items()}
    ready = [n for n in graph.nodes if indegree[n] == 0]
    layer = {n: 0 for n in ready}
    order = []
    while ready:
        n = ready.pop(0)
        order.append(n)
        for c in children[n]:
            layer[c] = max(layer.get(c, 0), layer[n] + 1)
            indegree[c] -= 1
            if indegree[c] == 0:
                ready.append(c)
    deepest = max(layer.values(), default=-1)
    for n in graph.nodes:  # nodes on a cycle: below everything else, in file order
        if n not in layer or n not in order:
            deepest += 1
            layer[n] = deepest
    return layer


def layout(graph: Graph) -> dict[str, tuple[float, float]]:
    """New top-left positions for every node, anchored at the graph's current top-left."""
    if not graph.nodes:
        return {}
    layer = _layers(graph)
    rows: dict[int, list[str]] = {}
    first_parent: dict[str, str] = {}
    links: list[tuple[str, str]] = []
    for node_id in graph.nodes:
        rows.setdefault(layer[node_id], []).append(node_id)
    for e in sorted(graph.edges, key=lambda e: e.target_port):
        a, b = e.source, e.target
        if layer[b] <= layer[a]:
            continue
        prev = a
        for depth in range(layer[a] + 1, layer[b]):  # placeholders for long edges
            dummy = f"\0{a}:{e.source_port}>{b}:{e.target_port}@{depth}"
            rows.setdefault(depth, []).append(dummy)
            links.append((prev, dummy))
            first_parent.setdefault(dummy, prev)
            prev = dummy
        links.append((prev, b))
        first_parent.setdefault(b, prev)
    # start from the current left-to-right order, then sweep
    x_now = {n: graph.nodes[n].pos[0] for n in graph.nodes}
    for depth, row in rows.items():
        row.sort(key=lambda n: x_now.get(n, x_now.get(first_parent.get(n, ""), 0.0) + 1.0))
    parents: dict[str, list[str]] = {}
    kids: dict[str, list[str]] = {}
    for a, b in links:
        parents.setdefault(b, []).append(a)
        kids.setdefault(a, []).append(b)
    depths = sorted(rows)
    for sweep in range(4):
        down = sweep % 2 == 0
        for depth in depths if down else list(reversed(depths)):
            neighbours = parents if down else kids
            ref = {n: i for d in (depth - 1, depth + 1) for i, n in enumerate(rows.get(d, []))}
            row = rows[depth]
            keys = {}
            for i, n in enumerate(row):
                near = [ref[m] for m in neighbours.get(n, []) if m in ref]
                keys[n] = sum(near) / len(near) if near else i
            row.sort(key=lambda n: keys[n])
    # x: under the first parent, no overlaps
    x: dict[str, float] = {}
    for depth in depths:
        last = None
        for n in rows[depth]:
            want = x.get(first_parent.get(n, ""), 0.0)
            if last is not None:
                want = max(want, last + X_STEP)
            x[n] = want
            last = want
    left = min(p.pos[0] for p in graph)
    top = min(p.pos[1] for p in graph)
    shift = left - min(x[n] for n in graph.nodes)
    return {n: (x[n] + shift, top + layer[n] * Y_STEP) for n in graph.nodes}
