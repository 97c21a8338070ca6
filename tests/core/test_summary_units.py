"""The summary's units: MACs and FLOPs (= 2 x MACs) per sample at a stated input size, per-node
parameter and activation memory in fp32 and the training dtype, and the training-memory footer."""

from __future__ import annotations

import json

import pytest

from workbench.cli import main
from workbench.core.graph import Graph
from workbench.core.size_budget import optimizer_state_copies
from workbench.core.summary import summarize
from workbench.core.training_memory import training_dtype


def _mlp() -> Graph:
    """Tokens [12] -> Embedding(50, 8) -> Flatten -> Linear(96 -> 10): int64 and float outputs."""
    graph = Graph()
    graph.add_node("tokens", "Input", {"shape": [12], "dtype": "int64"})
    graph.add_node("emb", "Embedding", {"num_embeddings": 50, "embedding_dim": 8})
    graph.add_node("flat", "Flatten", {})
    graph.add_node("fc", "Linear", {"out_features": 10})
    graph.add_node("out", "Output", {})
    for a, b in (("tokens", "emb"), ("emb", "flat"), ("flat", "fc"), ("fc", "out")):
        graph.connect(a, b)
    return graph


def test_macs_flops_and_memory_per_node():
    summary = summarize(_mlp())
    fc = next(n for n in summary.nodes if n.id == "fc")
    assert (fc.macs, fc.flops, fc.flops_source) == (96 * 10, 2 * 96 * 10, "formula")
    assert fc.parameter_bytes() == 4 * (96 * 10 + 10) and fc.parameter_bytes("bf16") == 2 * (96 * 10 + 10)
    assert fc.activation_bytes() == 40 and fc.activation_bytes("bf16") == 20
    tokens = next(n for n in summary.nodes if n.id == "tokens")
    assert tokens.activation_bytes() == tokens.activation_bytes("bf16") == 12 * 8  # token ids stay int64
    assert summary.total_macs * 2 == summary.total_flops == 2 * 96 * 10
    assert summary.per_sample() == "per sample at [12]"
    assert "1.92 kFLOPs" in summary.node_text("fc", {"amp": False}) and "per sample at [12]" in summary.node_text("fc")


@pytest.mark.parametrize("training,dtype,copies", [
    ({"amp": False, "optimizer": {"type": "SGD"}}, "fp32", 0),
    ({"amp": "fp16", "optimizer": {"type": "SGD", "momentum": 0.9}}, "fp16", 1),
    ({"amp": "auto", "device": "cpu", "optimizer": {"type": "AdamW", "amsgrad": True}}, "fp32", 3),
    ({"batch_size": 5}, "bf16", 2),
])
def test_training_memory_adds_weights_gradients_optimizer_state_and_activations(training, dtype, copies):
    summary = summarize(_mlp())
    estimate = summary.training_memory(training)
    params = 50 * 8 + 96 * 10 + 10
    assert estimate.dtype == training_dtype(training)[0] == dtype
    assert optimizer_state_copies(training.get("optimizer")) == copies
    assert estimate.weights == 4 * params and estimate.gradients == 4 * params
    assert estimate.optimizer_state == copies * 4 * params
    assert estimate.weights + estimate.gradients + estimate.optimizer_state == summary.memory.training_bytes(copies)
    half = 2 if dtype != "fp32" else 4
    per_sample = 12 * 8 + (12 * 8 + 96 + 10) * half  # ids in int64; embedding, flatten, linear outputs
    assert estimate.activations == training.get("batch_size", 64) * per_sample
    assert estimate.total == estimate.weights + estimate.gradients + estimate.optimizer_state + estimate.activations
    assert f"at batch {estimate.batch_size}" in estimate.line() and dtype in estimate.line()


def test_summary_json_and_table_carry_both_units(tmp_path, capsys):
    from workbench.core.project import Project, save_project

    path = tmp_path / "mlp.wbproj"
    save_project(Project(name="mlp", graph=_mlp(), training={"batch_size": 8, "amp": "bf16",
                                                              "optimizer": {"type": "Adam", "lr": 0.001}}), path)
    assert main(["summary", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["total_macs"] == 960 and report["total_flops"] == 1920 and report["flops_counted_nodes"] == 0
    assert report["per_sample_at"] == {"tokens": [12]}
    fc = next(n for n in report["nodes"] if n["id"] == "fc")
    assert fc["activation_bytes"] == {"fp32": 40, "bf16": 20} and fc["parameter_bytes"]["fp32"] == 3880
    memory = report["training_memory"]
    assert memory["batch_size"] == 8 and memory["activation_dtype"] == "bf16"
    assert memory["total_bytes"] == sum(memory[k] for k in ("weight_bytes", "gradient_bytes", "optimizer_state_bytes",
                                                            "activation_bytes"))
    assert main(["summary", str(path)]) == 0
    out = capsys.readouterr().out
    assert "total MACs per sample: 960 (960 MACs)" in out and "total FLOPs per sample: 1,920" in out
    assert "act mem bf16" in out and "per sample at [12]" in out and "estimated training memory at batch 8" in out
