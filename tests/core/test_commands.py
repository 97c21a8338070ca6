import pytest

from workbench.core.commands import AddNode, Connect, Disconnect, Macro, MoveNodes, RemoveNode, SetParams, UndoStack
from workbench.core.graph import CycleError, Edge, Graph


@pytest.fixture
def stack():
    g = Graph()
    s = UndoStack(g)
    s.push(AddNode("x", "Input", {"shape": [8]}))
    s.push(AddNode("fc", "Linear", {"out_features": 4}, (0, 120)))
    s.push(AddNode("act", "ReLU", {}, (0, 240)))
    s.push(AddNode("out", "Output", {}, (0, 360)))
    s.push(Connect("x", "fc"))
    s.push(Connect("fc", "act"))
    s.push(Connect("act", "out"))
    return s


def history(stack, commands):
    """Push commands, then check undo restores each earlier state exactly and redo replays."""
    states = [stack.graph.to_dict()]
    for c in commands:
        stack.push(c)
        states.append(stack.graph.to_dict())
    for state in reversed(states[:-1]):
        assert stack.undo()
        assert stack.graph.to_dict() == state
    for state in states[1:]:
        assert stack.redo()
        assert stack.graph.to_dict() == state


def test_remove_node_undo_restores_node_order_and_edges(stack):
    history(stack, [RemoveNode("fc"), RemoveNode("x")])


def test_connect_disconnect_undo(stack):
    history(stack, [Disconnect(Edge("fc", "act")), Connect("x", "act"), Disconnect(Edge("x", "fc"))])


def test_set_params_merge_consecutive_edits_of_one_field(stack):
    before = stack.graph.to_dict()
    for value in (1, 12, 128):
        stack.push(SetParams("fc", {"out_features": value}))
    assert stack.graph.node("fc").params["out_features"] == 128
    assert stack.undo()
    assert stack.graph.to_dict() == before


def test_set_params_on_another_field_does_not_merge(stack):
    stack.push(SetParams("fc", {"out_features": 5}))
    stack.push(SetParams("fc", {"bias": False}))
    stack.undo()
    assert stack.graph.node("fc").params == {"out_features": 5}


def test_set_params_none_restores_default(stack):
    history(stack, [SetParams("fc", {"out_features": None})])
    assert stack.graph.node("fc").params == {}


def test_move_nodes_merge_into_one_drag(stack):
    start = stack.graph.to_dict()
    stack.push(MoveNodes({"fc": ((0, 120), (5, 125)), "act": ((0, 240), (5, 245))}))
    stack.push(MoveNodes({"fc": ((5, 125), (50, 170)), "act": ((5, 245), (50, 290))}))
    assert stack.graph.node("fc").pos == (50, 170)
    stack.undo()
    assert stack.graph.to_dict() == start


def test_macro_is_one_step_and_rolls_back_on_failure(stack):
    history(stack, [Macro("insert", [Disconnect(Edge("fc", "act")), AddNode("d", "Dropout"), Connect("fc", "d"), Connect("d", "act")])])
    before = stack.graph.to_dict()
    bad = Macro("bad", [AddNode("z", "ReLU"), Connect("out", "z")])  # Output has no output port
    with pytest.raises(Exception):
        stack.push(bad)
    assert stack.graph.to_dict() == before


def test_refused_command_is_not_pushed(stack):
    stack.push(AddNode("a", "Add"))
    stack.push(AddNode("b", "Add"))
    stack.push(Connect("a", "b"))
    with pytest.raises(CycleError):
        stack.push(Connect("b", "a"))
    assert stack.undo() and stack.graph.edges[-1] != Edge("a", "b") and "b" in stack.graph


def test_refused_move_moves_nothing(stack):
    from workbench.core.graph import GraphError

    before = stack.graph.to_dict()
    for bad in ({"fc": ((0, 120), (9, 9)), "ghost": ((0, 0), (1, 1))}, {"fc": ((0, 120), (9, 9)), "act": ((0, 240), (float("nan"), 1))}):
        with pytest.raises(GraphError):
            stack.push(MoveNodes(bad))
        assert stack.graph.to_dict() == before


def test_set_params_needs_an_object(stack):
    from workbench.core.graph import GraphError

    with pytest.raises(GraphError, match="must be an object"):
        stack.push(SetParams("fc", ["out_features", 3]))
