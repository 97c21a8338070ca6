"""Weight tying: a Linear head sharing its weight with an Embedding — validation as
diagnostics, one parameter in compile and codegen, counted once, and a tie that survives
training, saving and loading."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from workbench.core.codegen import codegen
from workbench.core.compile import CompileError, compile_graph
from workbench.core.graph import Graph
from workbench.core.shapes import ERROR, ShapeInference, infer_shapes
from workbench.core.summary import summarize
from workbench.export.weights import WeightsError, apply_state_dict, load_weights, save_checkpoint

VOCAB, D, T = 50, 32, 12


def gpt(tie="embed", blocks=2, bias=False, **block) -> Graph:
    """tokens -> Embedding -> GPTBlock × blocks -> LayerNorm -> Linear head (tied) -> Output."""
    g = Graph()
    g.add_node("tokens", "Input", {"shape": [T], "dtype": "int64"})
    g.add_node("embed", "Embedding", {"num_embeddings": VOCAB, "embedding_dim": D})
    g.connect("tokens", "embed")
    previous = "embed"
    for i in range(1, blocks + 1):
        g.add_node(f"block{i}", "GPTBlock", {"nhead": 4, **block})
        g.connect(previous, f"block{i}")
        previous = f"block{i}"
    g.add_node("norm", "LayerNorm", {})
    g.connect(previous, "norm")
    g.add_node("head", "Linear", {"out_features": VOCAB, "bias": bias, "tie_weight": tie})
    g.connect("norm", "head")
    g.add_node("logits", "Output")
    g.connect("head", "logits")
    return g


def tokens(batch=3, seed=0):
    return torch.randint(0, VOCAB, (batch, T), generator=torch.Generator().manual_seed(seed))


def tie_errors(graph):
    return [(d.node_id, d.field, d.message) for d in infer_shapes(graph).diagnostics if d.field == "tie_weight"]


# --- one parameter ---------------------------------------------------------------------


@pytest.mark.parametrize("bias", [False, True])
def test_compiled_head_shares_the_embedding_table(bias):
    torch.manual_seed(0)
    model = compile_graph(gpt(bias=bias))
    assert model.head.weight is model.embed.weight
    names = [n for n, _ in model.named_parameters()]
    assert "embed.weight" in names and "head.weight" not in names  # one parameter, listed once
    untied = compile_graph(gpt(tie=None, bias=bias))
    assert sum(p.numel() for p in untied.parameters()) - sum(p.numel() for p in model.parameters()) == VOCAB * D
    state = model.state_dict()
    assert state["head.weight"].data_ptr() == state["embed.weight"].data_ptr()  # both keys, one tensor
    assert (model.head.bias is not None) == bias


def test_a_tied_model_starts_from_a_sensible_loss():
    """The shared table is initialised like the Linear, not like nn.Embedding's N(0, 1)."""
    torch.manual_seed(0)
    model = compile_graph(gpt())
    with torch.no_grad():
        loss = F.cross_entropy(model(tokens()).flatten(0, 1), tokens(seed=1).flatten())
    assert loss.item() < 1.2 * math.log(VOCAB)


def test_gradients_from_both_uses_reach_the_one_weight():
    torch.manual_seed(0)
    model = compile_graph(gpt())
    loss = F.cross_entropy(model(tokens()).flatten(0, 1), tokens(seed=1).flatten())
    loss.backward()
    grad = model.embed.weight.grad.clone()
    model.zero_grad()
    # the head's share alone: logits from the LayerNorm output against the (detached) table
    head_only = F.linear(model.norm(model.block2(model.block1(model.embed(tokens())))).detach(), model.embed.weight)
    F.cross_entropy(head_only.flatten(0, 1), tokens(seed=1).flatten()).backward()
    head_grad = model.embed.weight.grad
    assert not torch.allclose(grad, head_grad)  # the lookup's gradient was added in too
    assert head_grad[tokens().unique()].abs().sum() > 0


def test_summary_counts_the_shared_weight_once():
    graph = gpt(bias=True)
    summary = summarize(graph)
    model = compile_graph(graph)
    assert summary.total_params == sum(p.numel() for p in model.parameters())
    assert summary.trainable_params == summary.total_params
    rows = {n.id: n for n in summary.nodes}
    assert rows["head"].params == VOCAB  # its bias; the weight is the Embedding's
    assert rows["embed"].params == VOCAB * D
    assert summarize(gpt(tie=None, bias=True)).total_params == summary.total_params + VOCAB * D


def test_two_heads_may_share_one_table():
    graph = gpt()
    graph.add_node("head2", "Linear", {"out_features": VOCAB, "tie_weight": "embed"})
    graph.connect("norm", "head2")
    graph.add_node("logits2", "Output")
    graph.connect("head2", "logits2")
    model = compile_graph(graph)
    assert model.head.weight is model.embed.weight is model.head2.weight
    assert summarize(graph).total_params == sum(p.numel() for p in model.parameters())
    namespace = {"__name__": "standalone"}
    exec(compile(codegen(graph, "two-heads"), "<generated>", "exec"), namespace)
    generated = namespace["TwoHeads"]()
    assert generated.head.weight is generated.embed.weight is generated.head2.weight


def test_an_empty_field_means_untied():
    model = compile_graph(gpt(tie=""))
    assert model.head.weight is not model.embed.weight
    assert tie_errors(gpt(tie="")) == []


# --- validation -------------------------------------------------------------------------


def test_a_tie_that_cannot_hold_is_a_diagnostic_on_the_linear():
    graph = gpt(tie="nowhere")
    assert tie_errors(graph) == [
        ("head", "tie_weight", "no node 'nowhere' in this graph: name the Embedding whose weight this Linear should share")
    ]
    for target in ("norm", "tokens", "head", "block1"):
        graph = gpt(tie=target)
        (error,) = tie_errors(graph)
        assert error[0] == "head" and "not an Embedding" in error[2]
        with pytest.raises(CompileError) as caught:
            compile_graph(graph)
        assert caught.value.node_id == "head"


def test_shapes_must_match():
    graph = gpt()
    graph.set_params("head", {"out_features": VOCAB - 1, "tie_weight": "embed"})
    assert tie_errors(graph) == [
        (
            "head",
            "tie_weight",
            f"Embedding 'embed' has a [{VOCAB}, {D}] weight but this Linear's [out_features, in_features] is "
            f"[{VOCAB - 1}, {D}]: set out_features to {VOCAB} and feed it {D} features",
        )
    ]
    graph = gpt()  # right vocabulary, wrong width: a Linear in between changes d
    graph.disconnect(graph.in_edges("head")[0])
    graph.add_node("wide", "Linear", {"out_features": 2 * D})
    graph.connect("norm", "wide")
    graph.connect("wide", "head")
    (error,) = tie_errors(graph)
    assert f"is [{VOCAB}, {2 * D}]" in error[2]


def test_the_embedding_must_be_in_the_model():
    graph = gpt()
    graph.add_node("spare", "Embedding", {"num_embeddings": VOCAB, "embedding_dim": D})
    graph.connect("tokens", "spare")
    graph.set_params("head", {"out_features": VOCAB, "tie_weight": "spare"})
    (error,) = tie_errors(graph)
    assert error[2] == "Embedding 'spare' does not lead to any Output, so it is not in the model: connect it or clear tie_weight"


@pytest.mark.parametrize(
    "hostile",
    ["__class__", "embed.weight", "embed; import os", "self", "../embed", "embed\n", "é" * 10_000, " embed"],
)
def test_hostile_names_are_diagnostics_never_code(hostile):
    graph = gpt(tie=hostile)
    (error,) = tie_errors(graph)
    assert error[0] == "head" and error[2].startswith("no node ")
    with pytest.raises(CompileError):
        codegen(graph)


def test_wrong_kinds_of_value_name_the_field():
    for value in (3, ["embed"], {"node": "embed"}, True):
        result = infer_shapes(gpt(tie=value))
        (error,) = [d for d in result.errors if d.node_id == "head"]
        assert error.field == "tie_weight"


def test_live_inference_follows_edits_to_the_embedding():
    graph = gpt()
    live = ShapeInference(graph)
    assert live.result().ok
    graph.set_params("embed", {"num_embeddings": VOCAB + 1, "embedding_dim": D})
    assert [d.node_id for d in live.result().errors] == ["head"]
    graph.set_params("head", {"out_features": VOCAB + 1, "tie_weight": "embed"})
    assert live.result().ok
    graph.remove_node("embed")
    assert [d.node_id for d in live.result().errors] == ["block1"]  # its input is gone; the head waits
    graph.add_node("table", "Embedding", {"num_embeddings": VOCAB + 1, "embedding_dim": D})
    graph.connect("tokens", "table")
    graph.connect("table", "block1")
    (error,) = live.result().errors
    assert (error.node_id, error.severity, error.field) == ("head", ERROR, "tie_weight")
    assert error.message.startswith("no node 'embed' in this graph")
    graph.set_params("head", {"out_features": VOCAB + 1, "tie_weight": "table"})
    assert live.result().ok


# --- codegen and weights ----------------------------------------------------------------


@pytest.mark.parametrize("block", [{}, {"norm": "rmsnorm", "mlp": "swiglu", "rope": False}], ids=str)
def test_generated_source_ties_and_loads_the_compiled_weights(block):
    torch.manual_seed(0)
    graph = gpt(bias=True, **block)
    source = codegen(graph, "tiny-gpt")
    assert source.count("self.embed.weight = self.head.weight") == 1
    namespace = {"__name__": "standalone"}
    exec(compile(source, "<generated>", "exec"), namespace)  # needs nothing from this project
    assert not [k for k, v in namespace.items() if getattr(v, "__module__", "").startswith("workbench")]
    generated = namespace["TinyGpt"]().eval()
    assert generated.head.weight is generated.embed.weight
    compiled = compile_graph(graph).eval()
    generated.load_state_dict(compiled.state_dict(), strict=True)
    assert generated.head.weight is generated.embed.weight
    with torch.no_grad():
        assert torch.allclose(generated(tokens()), compiled(tokens()), atol=1e-6)


def test_train_save_load_keeps_the_tie(tmp_path):
    torch.manual_seed(0)
    graph = gpt()
    model = compile_graph(graph)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for step in range(5):
        loss = F.cross_entropy(model(tokens(seed=step)).flatten(0, 1), tokens(seed=step + 100).flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert model.head.weight is model.embed.weight
    path = save_checkpoint(tmp_path / "checkpoint.pt", model.state_dict(), epoch=1)

    fresh = compile_graph(graph).eval()
    apply_state_dict(fresh, load_weights(path))
    assert fresh.head.weight is fresh.embed.weight
    model.eval()
    with torch.no_grad():
        assert torch.equal(fresh(tokens()), model(tokens()))
        fresh.embed.weight.mul_(2)
        assert torch.equal(fresh.head.weight, fresh.embed.weight)  # still one tensor after loading


def test_a_file_holding_one_of_the_tied_keys_loads(tmp_path):
    model = compile_graph(gpt()).eval()
    state = {k: v for k, v in model.state_dict().items() if k != "head.weight"}
    torch.save(state, tmp_path / "deduplicated.pt")
    fresh = compile_graph(gpt()).eval()
    apply_state_dict(fresh, load_weights(tmp_path / "deduplicated.pt"))
    assert fresh.head.weight is fresh.embed.weight and torch.equal(fresh.embed.weight, model.embed.weight)


def test_tied_keys_that_disagree_are_refused(tmp_path):
    untied = compile_graph(gpt(tie=None))  # same keys, but two different tables
    torch.save(untied.state_dict(), tmp_path / "untied.pt")
    with pytest.raises(WeightsError) as caught:
        apply_state_dict(compile_graph(gpt()), load_weights(tmp_path / "untied.pt"))
    assert "embed.weight and head.weight are one tied weight in this model but differ in the file" in str(caught.value)
    missing_both = {k: v for k, v in untied.state_dict().items() if k not in ("head.weight", "embed.weight")}
    with pytest.raises(WeightsError, match=r"missing 2 key\(s\)"):
        apply_state_dict(compile_graph(gpt()), missing_both)
