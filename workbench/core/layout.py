"""Automatic top-to-bottom layout of a graph that arrives without positions (an import).

Layered drawing in the Sugiyama manner, kept simple: each node sits one row below the
lowest of its inputs (longest path from the inputs), and within a row nodes are ordered
by the mean column of their inputs, so a chain runs straight down and a residual branch
sits beside the path it rejoins.
"""

from __future__ import annotations

from typing import Iterable, Sequence

__all__ = ["layered_positions", "ROW", "COLUMN"]

ROW = 120  # vertical distance between rows, as in the bundled examples
COLUMN = 220  # horizontal distance between nodes in one row


def layered_positions(
    nodes: Sequence[str], edges: Iterable[tuple[str, str]], row: int = ROW, column: int = COLUMN
) -> dict[str, tuple[int, int]]:
    """Positions for `nodes` (given in topological order) joined by (source, target) edges."""
    parents: dict[str, list[str]] = {n: [] for n in nodes}
    for source, target in edges:
        if source in parents and target in parents:
            parents[target].append(source)
    depth: dict[str, int] = {}
    for n in nodes:
        depth[n] = 1 + max((depth[p] for p in parents[n] if p in depth), default=-1)
    rows: dict[int, list[str]] = {}
    for n in nodes:
        rows.setdefault(depth[n], []).append(n)
    column_of: dict[str, float] = {}
    positions: dict[str, tuple[int, int]] = {}
    for level in sorted(rows):
        members = rows[level]
        order = {n: i for i, n in enumerate(members)}

        def key(n: str) -> tuple[float, int]:
            cols = [column_of[p] for p in parents[n] if p in column_of]
            return (sum(cols) / len(cols) if cols else 0.0, order[n])

        members.sort(key=key)
        wanted = [key(n)[0] for n in members]
        # spread the row around where its inputs are, one column apart
        centre = sum(wanted) / len(wanted)
        start = centre - (len(members) - 1) / 2
        for i, n in enumerate(members):
            column_of[n] = start + i
            positions[n] = (round(column_of[n] * column), level * row)
    return positions
