import inspect

import pytest
import torch

from workbench.core.codegen import codegen
from workbench.core.compile import CompileError, class_name, compile_graph
from workbench.core.graph import Graph


def two_input_graph():
    g = Graph()
    g.add_node("image", "Input", {"shape": [2, 4, 4]})
    g.add_node("meta", "Input", {"shape": [3]})
    g.add_node("flat", "Flatten")
    g.add_node("both", "Concat", {"dim": 1})
    g.add_node("fc", "Linear", {"out_features": 5})
    g.add_node("probs", "Softmax")
    g.add_node("logits", "Output")
    g.add_node("p", "Output")
    g.connect("image", "flat")
    g.connect("flat", "both")
    g.connect("meta", "both", target_port=1)
    g.connect("both", "fc")
    g.connect("fc", "logits")
    g.connect("fc", "probs")
    g.connect("probs", "p")
    return g


def test_compiled_module_is_named_after_nodes_and_takes_named_inputs():
    module = compile_graph(two_input_graph(), "two-inputs")
    assert type(module).__name__ == "TwoInputs"
    assert list(inspect.signature(module.forward).parameters) == ["image", "meta"]
    assert {name for name, _ in module.named_children()} == {"flat", "both", "fc", "probs"}
    assert "self.fc(both)" in module.code
    logits, probs = module(image=torch.randn(3, 2, 4, 4), meta=torch.randn(3, 3))
    assert logits.shape == (3, 5) and torch.allclose(probs.sum(1), torch.ones(3))
    assert module.input_names == ("image", "meta") and module.output_names == ("logits", "p")


def test_compile_refuses_a_graph_with_errors_naming_the_node():
    g = two_input_graph()
    g.set_params("meta", {"shape": [3, 3]})
    with pytest.raises(CompileError) as info:
        compile_graph(g)
    assert info.value.node_id == "both" and "different ranks" in info.value.reason


def test_dead_branches_are_left_out():
    g = two_input_graph()
    g.add_node("spare", "ReLU")
    g.connect("fc", "spare")
    assert "spare" not in dict(compile_graph(g).named_children())


def test_codegen_is_standalone_and_accepts_the_compiled_state_dict():
    g = two_input_graph()
    module = compile_graph(g, "two-inputs").eval()
    source = codegen(g, "two-inputs")
    assert "workbench" not in source.split('"""', 2)[2]
    namespace: dict = {"__name__": "generated"}
    exec(compile(source, "model.py", "exec"), namespace)
    standalone = namespace["TwoInputs"]().eval()
    standalone.load_state_dict(module.state_dict(), strict=True)
    x, m = torch.randn(4, 2, 4, 4), torch.randn(4, 3)
    for a, b in zip(module(x, m), standalone(x, m)):
        assert torch.equal(a, b)


def test_codegen_leaves_out_default_arguments():
    source = codegen(two_input_graph())
    assert "self.fc = nn.Linear(in_features=35, out_features=5)" in source
    assert "self.flat = nn.Flatten()" in source


def test_graph_export_friendly():
    module = compile_graph(two_input_graph()).eval()
    exported = torch.export.export(module, (torch.randn(2, 2, 4, 4), torch.randn(2, 3)))
    assert [s.arg.name for s in exported.graph_signature.input_specs if s.kind.name == "USER_INPUT"] == ["image", "meta"]


@pytest.mark.parametrize(
    "name, expected", [("digits-cnn", "DigitsCnn"), ("my model 2", "MyModel2"), ("3d", "Model3d"), ("", "Model")]
)
def test_class_name(name, expected):
    assert class_name(name) == expected
