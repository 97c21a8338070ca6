"""Auto-layout: layered, wrapped into columns to fit a view, without crossings where a layered drawing can avoid them."""

from __future__ import annotations

import pytest

from workbench.core.graph import Graph
from workbench.core.layout import NODE_H, NODE_W, ROW, crossings, layout, plan
from workbench.core.project import load_project
from workbench.paths import EXAMPLES

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.wbproj"))


def _zoom(pos: dict, view: tuple[float, float], margin: float = 40.0) -> float:
    xs, ys = [p[0] for p in pos.values()], [p[1] for p in pos.values()]
    width, height = max(xs) - min(xs) + NODE_W + 2 * margin, max(ys) - min(ys) + NODE_H + 2 * margin
    return min(view[0] / width, view[1] / height)


def _overlaps(pos: dict) -> list[tuple[str, str]]:
    ids = list(pos)
    return [(a, b) for i, a in enumerate(ids) for b in ids[i + 1:]
            if abs(pos[a][0] - pos[b][0]) < NODE_W + 20 and abs(pos[a][1] - pos[b][1]) < NODE_H + 20]


def _chain(n: int) -> Graph:
    graph = Graph()
    graph.add_node("x", "Input", {"shape": [8]})
    prev = "x"
    for i in range(n):
        graph.add_node(f"fc{i}", "Linear", {"out_features": 8})
        graph.connect(prev, f"fc{i}")
        prev = f"fc{i}"
    graph.add_node("out", "Output")
    graph.connect(prev, "out")
    return graph


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_every_example_fits_the_default_canvas_without_overlaps(path):
    graph = load_project(path).graph
    pos = layout(graph, (787, 452))  # the canvas of the default window under a 1600x1000 screen
    assert set(pos) == set(graph.nodes)
    assert not _overlaps(pos)
    assert _zoom(pos, (787, 452)) >= 0.5  # the window opens it fitted: Output in view
    assert pos == {n.id: n.pos for n in graph}  # and the file holds this layout
    assert crossings(plan(graph)) == 0


def test_an_18_layer_model_wraps_into_columns_that_fit_at_a_readable_zoom():
    graph = load_project(EXAMPLES / "speech_mel_cnn.wbproj").graph
    pos = layout(graph, (787, 612))
    columns = sorted({x for x, _ in pos.values()})
    assert len(columns) >= 3
    assert _zoom(pos, (787, 612)) >= 0.7  # one column would be 0.27
    order = ["waveform", "mel", "db", "conv1", "bn1", "relu1", "pool1", "conv2", "bn2", "relu2", "pool2", "conv3",
             "bn3", "relu3", "pool3", "gap", "fc", "out"]
    reading = sorted(order, key=lambda n: (pos[n][0], pos[n][1]))  # column by column, top to bottom
    assert reading == order
    for column in columns:  # each column starts at the top, rows one ROW apart
        ys = sorted(y for x, y in pos.values() if x == column)
        assert ys[0] == 0 and all(b - a == ROW for a, b in zip(ys, ys[1:]))


def test_a_short_chain_stays_in_one_column_and_a_long_one_uses_the_view_aspect():
    short = layout(_chain(3), (800, 600))
    assert len({x for x, _ in short.values()}) == 1
    long_graph = _chain(40)
    wide = layout(long_graph, (1600, 600))
    narrow = layout(long_graph, (600, 1600))
    assert len({x for x, _ in wide.values()}) > len({x for x, _ in narrow.values()}) >= 1
    assert _zoom(wide, (1600, 600)) > 0.35  # in one column: 0.11
    assert not _overlaps(wide) and not _overlaps(narrow)


def test_residual_and_seq2seq_have_no_crossings_and_branches_sit_side_by_side():
    resnet = load_project(EXAMPLES / "cifar_resnet_block.wbproj").graph
    pos = layout(resnet, (4000, 4000))  # room enough for one column: the plain layered drawing
    assert crossings(plan(resnet)) == 0
    main = ["image", "stem_conv", "b1_conv1", "b1_add", "b2_conv1", "b2_add", "fc", "out"]
    assert len({pos[n][0] for n in main}) == 1  # the main path runs straight down
    assert pos["b2_down"][0] >= pos["b2_conv1"][0] + NODE_W  # the downsampling branch sits beside it
    assert pos["b2_down"][1] == pos["b2_conv1"][1]

    seq = load_project(EXAMPLES / "seq2seq_transformer.wbproj").graph
    assert crossings(plan(seq)) == 0
    pos = layout(seq, (787, 612))
    # the decoder's tgt input (port 0) comes from its left, the encoder's memory (port 1) from its right
    assert pos["tgt_pos"][0] <= pos["decoder"][0] < pos["encoder"][0]


def test_crossings_count_edges_into_ports_in_the_wrong_order():
    graph = Graph()
    for name in ("a", "b"):
        graph.add_node(name, "Input", {"shape": [4]})
    graph.add_node("cat", "Concat")
    graph.connect("a", "cat", 0, 1)
    graph.connect("b", "cat", 0, 0)
    p = plan(graph)
    assert crossings(p) == 0
    assert p.rows[0] == ["b", "a"]  # the sweeps swapped the sources to match the ports
    graph.move_nodes({"a": (0, 0), "b": (300, 0)})
    assert layout(graph)["b"][0] < layout(graph)["a"][0]


def test_a_cycle_from_a_hand_edited_file_still_gets_positions():
    graph = Graph.from_dict({"nodes": [{"id": "a", "type": "ReLU"}, {"id": "b", "type": "ReLU"}],
                             "edges": [{"source": "a", "target": "b"}, {"source": "b", "target": "a"}]})
    pos = layout(graph)
    assert set(pos) == {"a", "b"} and pos["a"] != pos["b"]
