import pytest

from workbench.core.graph import (
    CycleError,
    DuplicateEdgeError,
    DuplicateNodeError,
    Edge,
    Graph,
    GraphError,
    InvalidIdError,
    PortError,
    UnknownLayerError,
    UnknownNodeError,
)


def chain(*types):
    g = Graph()
    ids = []
    for i, t in enumerate(types):
        node_id = f"n{i}"
        g.add_node(node_id, t, {"shape": [4]} if t == "Input" else {})
        if ids:
            g.connect(ids[-1], node_id)
        ids.append(node_id)
    return g


def test_events_announce_every_edit_in_order():
    g = Graph()
    seen = []
    g.subscribe(lambda e: seen.append((e.kind, e.node or (e.edge.source, e.edge.target))))
    g.add_node("a", "Input", {"shape": [3]})
    g.add_node("b", "ReLU")
    g.connect("a", "b")
    g.set_params("b", {})
    g.move_node("b", (10, 20))
    g.remove_node("b")
    assert seen == [
        ("node_added", "a"),
        ("node_added", "b"),
        ("edge_added", ("a", "b")),
        ("params_changed", "b"),
        ("node_moved", "b"),
        ("edge_removed", ("a", "b")),
        ("node_removed", "b"),
    ]


def test_bound_method_listeners_are_weak():
    g = Graph()

    class View:
        def __init__(self):
            self.count = 0

        def on_event(self, event):
            self.count += 1

    view = View()
    g.subscribe(view.on_event)
    g.add_node("a", "ReLU")
    assert view.count == 1
    del view
    g.add_node("b", "ReLU")  # must not fail or keep the view alive
    assert len(g._listeners) == 0


@pytest.mark.parametrize(
    "edit, error",
    [
        (lambda g: g.connect("n2", "n0"), PortError),  # Input has no input port
        (lambda g: g.connect("n2", "n1"), PortError),  # n1's only input is taken
        (lambda g: g.connect("n0", "n1"), DuplicateEdgeError),
        (lambda g: g.connect("n0", "n1", source_port=1), PortError),
        (lambda g: g.connect("n1", "n1", target_port=0), PortError),
        (lambda g: g.connect("n0", "zz"), UnknownNodeError),
        (lambda g: g.add_node("n0", "ReLU"), DuplicateNodeError),
        (lambda g: g.add_node("x", "NoSuchLayer"), UnknownLayerError),
        (lambda g: g.add_node("1abc", "ReLU"), InvalidIdError),
        (lambda g: g.add_node("forward", "ReLU"), InvalidIdError),
        (lambda g: g.add_node("class", "ReLU"), InvalidIdError),
        (lambda g: g.remove_node("nope"), UnknownNodeError),
    ],
)
def test_illegal_edits_raise_typed_errors_and_change_nothing(edit, error):
    g = chain("Input", "ReLU", "ReLU")
    before = g.to_dict()
    with pytest.raises(error):
        edit(g)
    assert g.to_dict() == before


def test_cycle_is_refused():
    g = Graph()
    for n in ("a", "b", "c"):
        g.add_node(n, "Add")
    g.connect("a", "b")
    g.connect("b", "c")
    with pytest.raises(CycleError, match="cycle"):
        g.connect("c", "a")
    with pytest.raises(CycleError):
        g.connect("a", "a", target_port=1)


def test_variadic_merge_accepts_any_port_but_one_edge_per_port():
    g = chain("Input", "ReLU")
    g.add_node("add", "Add")
    g.add_node("r2", "ReLU")
    g.connect("n0", "r2")
    g.connect("n1", "add", target_port=0)
    g.connect("r2", "add", target_port=5)
    with pytest.raises(PortError, match="already fed"):
        g.connect("n0", "add", target_port=5)


def test_remove_node_removes_its_edges():
    g = chain("Input", "ReLU", "Output")
    node, edges = g.remove_node("n1")
    assert node.id == "n1" and len(edges) == 2 and g.edges == []


def test_serialisation_round_trip_keeps_unknown_node_keys():
    g = chain("Input", "ReLU", "Output")
    data = g.to_dict()
    data["nodes"][1]["comment"] = "keep me"
    again = Graph.from_dict(data)
    assert again.to_dict() == data


def test_loaded_cycle_is_kept_for_diagnostics():
    data = {
        "nodes": [{"id": "a", "type": "ReLU"}, {"id": "b", "type": "ReLU"}],
        "edges": [{"source": "a", "target": "b"}, {"source": "b", "target": "a"}],
    }
    g = Graph.from_dict(data)
    assert len(g.edges) == 2


def test_unique_id():
    g = chain("Input", "ReLU")
    assert g.unique_id("Conv2d") == "conv2d1"
    g.add_node("conv2d1", "ReLU")
    assert g.unique_id("Conv2d") == "conv2d2"
    assert g.unique_id("conv2d1") == "conv2d2"


def test_edge_defaults_are_left_out_of_the_file():
    assert Edge("a", "b").to_dict() == {"source": "a", "target": "b"}
    assert Edge("a", "b", 0, 2).to_dict() == {"source": "a", "target": "b", "target_port": 2}


def scan(g: Graph) -> dict:
    """What the adjacency must answer, recomputed by scanning every edge."""
    return {
        n: (
            sorted((e for e in g.edges if e.target == n), key=lambda e: e.target_port),
            [e for e in g.edges if e.source == n],
            {e.target for e in g.edges if e.source == n},
        )
        for n in g.nodes
    }


def test_adjacency_follows_every_edit_and_reorder():
    g = chain("Input", "ReLU", "ReLU", "Output")
    g.add_node("add", "Add")
    g.connect("n1", "add", target_port=3)
    g.connect("n0", "add", target_port=0)
    g.connect("n2", "add", target_port=1)
    g.disconnect(Edge("n1", "n2"))
    g.connect("n0", "n2")
    g.set_order(node_ids=reversed(list(g.nodes)), edges=reversed(g.edges))
    g.remove_node("n1")
    assert {n: (g.in_edges(n), g.out_edges(n), g.successors(n)) for n in g.nodes} == scan(g)
    assert [e.target_port for e in g.in_edges("add")] == [0, 1]
    assert list(g.nodes) == ["add", "n3", "n2", "n0"]
    assert g.downstream(["n0"]) == {"n0", "n2", "n3", "add"}
    assert g.in_edges("nope") == [] and g.out_edges(["not", "an", "id"]) == []


def test_set_order_must_keep_the_same_members():
    g = chain("Input", "ReLU", "Output")
    before = g.to_dict()
    with pytest.raises(GraphError):
        g.set_order(node_ids=["n0", "n1"])
    with pytest.raises(GraphError):
        g.set_order(edges=[g.edges[0], g.edges[0]])
    assert g.to_dict() == before


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"nodes": "abc"},
        {"nodes": [{"id": "a"}]},
        {"nodes": [7]},
        {"nodes": [{"id": "a", "type": "ReLU"}], "edges": [{"source": "a"}]},
        {"nodes": [{"id": "a", "type": "ReLU"}], "edges": [["a", "a"]]},
        {"nodes": [{"id": "a", "type": "ReLU"}], "edges": [{"source": ["a"], "target": "a"}]},
    ],
)
def test_from_dict_names_what_is_malformed_with_a_graph_error(data):
    with pytest.raises(GraphError):
        Graph.from_dict(data)


def test_a_loaded_self_loop_is_kept_and_reported():
    g = Graph.from_dict({"nodes": [{"id": "a", "type": "ReLU"}], "edges": [{"source": "a", "target": "a"}]})
    assert g.in_edges("a") == g.out_edges("a") == [Edge("a", "a")]
    assert g.successors("a") == {"a"}
    node, edges = g.remove_node("a")
    assert edges == [Edge("a", "a")] and g.edges == []
