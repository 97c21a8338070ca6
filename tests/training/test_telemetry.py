"""Telemetry: per-node statistics sampled on one step every N, hooks gone in between, and a
NaN traced back to the node where it began."""

from __future__ import annotations

import json

import pytest
import torch

from tests.core.test_blocks import grouped
from tests.training.helpers import blobs, make_trainer, mlp_graph
from workbench.core.compile import compile_graph
from workbench.core.graph import Graph
from workbench.data.bundle import DataBundle
from workbench.training.callbacks import Callback
from workbench.training.events import EventLog
from workbench.training.telemetry import Telemetry, first_nonfinite, first_tensor, sampling_interval


class FirstForward(Callback):
    """Keeps each node's output of the first training step, and its gradients after it."""

    def __init__(self) -> None:
        self.outputs: dict[str, torch.Tensor] = {}
        self.grad_norms: dict[str, float] = {}
        self._handles = []

    def on_fit_start(self, trainer) -> None:
        for name, module in trainer.model.named_children():
            def keep(module, args, output, name=name):
                self.outputs.setdefault(name, first_tensor(output).detach().clone())
            self._handles.append(module.register_forward_hook(keep))

    def on_batch_end(self, trainer, batch, loss) -> None:
        if trainer.step == 1:
            for name, module in trainer.model.named_children():
                grads = [p.grad.flatten() for p in module.parameters() if p.grad is not None]
                if grads:
                    self.grad_norms[name] = torch.linalg.vector_norm(torch.cat(grads)).item()
            for handle in self._handles:
                handle.remove()


class HookCount(Callback):
    """How many forward hooks the model's nodes carry after each step."""

    def __init__(self) -> None:
        self.by_step: dict[int, int] = {}

    def on_batch_end(self, trainer, batch, loss) -> None:
        self.by_step[trainer.step] = sum(len(m._forward_hooks) for m in trainer.model.children())


def test_sampled_statistics_equal_a_manual_computation():
    manual, log = FirstForward(), EventLog()
    trainer = make_trainer({"epochs": 1}, callbacks=[manual, Telemetry(every=1000, first=1), log])
    assert trainer.fit().state == "completed"
    [event] = log.of("telemetry")
    assert event["step"] == 1 and event["epoch"] == 1 and event["nonfinite"] == []
    assert list(event["nodes"]) == ["fc1", "act", "fc2"]  # execution order
    for name, stats in event["nodes"].items():
        out = manual.outputs[name]
        assert stats["mean"] == pytest.approx(out.mean().item(), rel=1e-5, abs=1e-6)
        assert stats["std"] == pytest.approx(out.std(correction=0).item(), rel=1e-5)
        assert stats["zeros"] == pytest.approx((out == 0).float().mean().item())
        assert (stats["min"], stats["max"]) == (out.min().item(), out.max().item())
        assert stats["finite"] is True
    assert 0.2 < event["nodes"]["act"]["zeros"] < 0.8  # dead units after the ReLU
    assert event["nodes"]["fc1"]["zeros"] == 0.0
    assert event["nodes"]["act"]["grad_norm"] is None  # no parameters
    for name in ("fc1", "fc2"):
        assert event["nodes"][name]["grad_norm"] == pytest.approx(manual.grad_norms[name], rel=1e-5)
    json.dumps(event, allow_nan=False)


def test_hooks_live_for_the_sampled_step_only():
    hooks, log = HookCount(), EventLog()
    telemetry = Telemetry(every=7, first=3)
    trainer = make_trainer({"epochs": 3}, callbacks=[telemetry, hooks, log])  # 6 steps per epoch
    assert trainer.fit().state == "completed"
    sampled = [e["step"] for e in log.of("telemetry")]
    assert sampled == [3, 10, 17]
    armed = {step for step, count in hooks.by_step.items() if count}
    assert armed == {2, 9, 16} - {6, 12, 18}  # armed after the step before, never across an epoch end
    assert hooks.by_step[9] == 3 and hooks.by_step[3] == 0
    assert all(len(m._forward_hooks) == 0 for m in trainer.model.modules())  # the guard too
    for event in log.events:
        json.dumps(event, allow_nan=False)


def test_a_sample_due_at_an_epoch_start_is_armed_after_validation():
    hooks, log = HookCount(), EventLog()
    trainer = make_trainer({"epochs": 2}, callbacks=[Telemetry(every=100, first=7), hooks, log])
    assert trainer.fit().state == "completed"
    assert [e["step"] for e in log.of("telemetry")] == [7]
    assert not any(hooks.by_step.values())  # step 6 ends epoch 1: armed in on_epoch_start instead


def test_the_interval_follows_the_cost_budget_and_the_rate_limit():
    assert sampling_interval(cost=1e-3, step_time=1e-3, budget=0.01, min_interval=0.25) == 250  # rate limit
    assert sampling_interval(cost=50e-3, step_time=10e-3, budget=0.01, min_interval=0.25) == 500  # cost
    assert sampling_interval(cost=1e-3, step_time=2.0) == 5  # slow steps: every 5th
    assert sampling_interval(cost=1e-3, step_time=-1.0) > 1000  # a clock oddity never means "every step"


def test_adaptive_sampling_starts_early_then_spaces_samples_out():
    log = EventLog()
    telemetry = Telemetry()
    trainer = make_trainer({"epochs": 8, "batch_size": 8}, callbacks=[telemetry, log])  # 192 steps
    assert trainer.fit().state == "completed"
    events = log.of("telemetry")
    assert events[0]["step"] == 5
    for before, after in zip(events, events[1:]):
        assert after["step"] - before["step"] == before["every"] >= 5
    assert len(events) < 192 / 5


class PoisonWeights(Callback):
    def __init__(self, node: str, at: int) -> None:
        self.node, self.at = node, at

    def on_batch_end(self, trainer, batch, loss) -> None:
        if trainer.step == self.at:
            with torch.no_grad():
                getattr(trainer.model, self.node).weight.fill_(float("nan"))


def test_nan_injected_into_one_nodes_weights_names_that_node():
    log = EventLog()
    trainer = make_trainer({"epochs": 3}, callbacks=[PoisonWeights("fc2", 8), Telemetry(), log])
    result = trainer.fit()
    assert result.state == "failed" and result.failure.kind == "nan_loss"
    assert result.failure.node_id == "fc2"
    assert "the loss became nan at step 9" in result.message
    assert "first non-finite values in node 'fc2' (Linear), in its weights" in result.message
    failed = log.events[-1]
    assert failed["state"] == "failed" and failed["node"] == "fc2" and failed["message"] == result.message


def test_a_sampled_step_reports_non_finite_nodes_in_execution_order():
    log = EventLog()
    callbacks = [PoisonWeights("fc1", 4), Telemetry(every=100, first=5, guard=False), log]
    trainer = make_trainer({"epochs": 2, "log_every_n_steps": 50}, callbacks=callbacks)
    assert trainer.fit().state == "failed"
    [event] = log.of("telemetry")
    assert event["nonfinite"] == ["fc1", "act", "fc2"]
    assert event["nodes"]["fc1"]["finite"] is False and event["nodes"]["fc1"]["mean"] is None
    json.dumps(event, allow_nan=False)


def test_first_nonfinite_tells_input_output_and_weights_apart():
    model = compile_graph(mlp_graph(), "tiny")
    x = torch.rand(4, 4) + 1
    assert first_nonfinite(model, (x,), ("x",)) is None
    bad = x.clone()
    bad[0, 0] = float("nan")
    assert first_nonfinite(model, (bad,), ("x",)) == ("x", "Input", "the input data")
    with torch.no_grad():
        model.fc2.weight[0, 0] = float("inf")
        model.fc1.weight.fill_(1e38)  # finite weights whose output overflows
    assert first_nonfinite(model, (x,), ("x",)) == ("fc1", "Linear", "its output")  # first in execution order
    with torch.no_grad():
        model.fc1.weight.fill_(0.1)
    assert first_nonfinite(model, (x,), ("x",)) == ("fc2", "Linear", "its weights")
    assert all(len(m._forward_hooks) == 0 for m in model.modules())


def sequence_bundle(n: int = 96, steps: int = 12, vocab: int = 50) -> DataBundle:
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, vocab, (n, steps), generator=g)
    y = x[:, 0] % 3
    return DataBundle(train=_Sized(n), val=None, task="classification", input_names=("tokens",),
                      classes=["a", "b", "c"], train_tensors=((x,), y))


class _Sized(torch.utils.data.Dataset):
    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n


def test_embedding_and_lstm_nodes_report_float_statistics():
    g = Graph()
    g.add_node("tokens", "Input", {"shape": [12], "dtype": "int64"})
    g.add_node("embed", "Embedding", {"num_embeddings": 50, "embedding_dim": 8})
    g.add_node("lstm", "LSTM", {"hidden_size": 8, "output": "sequence"})
    g.add_node("flat", "Flatten")
    g.add_node("fc", "Linear", {"out_features": 3})
    g.add_node("out", "Output")
    for a, b in (("tokens", "embed"), ("embed", "lstm"), ("lstm", "flat"), ("flat", "fc"), ("fc", "out")):
        g.connect(a, b)
    log = EventLog()
    trainer = make_trainer({"epochs": 1, "loss": {"type": "CrossEntropyLoss"}}, bundle=sequence_bundle(),
                           model=compile_graph(g, "seq"), callbacks=[Telemetry(every=2, first=1), log])
    result = trainer.fit()
    assert result.state == "completed", result.message
    event = log.of("telemetry")[0]
    assert list(event["nodes"]) == ["embed", "lstm", "flat", "fc"]
    for name in ("embed", "lstm", "fc"):
        stats = event["nodes"][name]
        assert stats["std"] > 0 and stats["grad_norm"] > 0 and stats["finite"]


def test_a_block_is_one_node_and_a_two_output_block_reports_its_first_output():
    g, _stack, command = grouped(("fc", "side"), "Heads")
    model = compile_graph(g, "heads")
    block = command.block_id
    assert block in dict(model.named_children())
    x = torch.randn(64, 3, 8, 8)
    y = torch.randint(0, 5, (64,))
    bundle = DataBundle(train=_Sized(64), val=None, task="classification", input_names=("x",),
                        classes=[str(i) for i in range(5)], train_tensors=((x,), y))
    manual, log = FirstForward(), EventLog()
    trainer = make_trainer({"epochs": 1}, bundle=bundle, model=model,
                           callbacks=[manual, Telemetry(every=100, first=1), log])
    trainer.objective = _five_class_objective()
    assert trainer.fit().state == "completed"
    stats = log.of("telemetry")[0]["nodes"][block]
    assert stats["mean"] == pytest.approx(manual.outputs[block].mean().item(), rel=1e-5, abs=1e-6)
    assert stats["grad_norm"] == pytest.approx(manual.grad_norms[block], rel=1e-5)


def _five_class_objective():
    from workbench.core.tensors import TensorInfo
    from workbench.training.losses import make_objective

    return make_objective({"type": "CrossEntropyLoss"}, "classification", TensorInfo((5,)))


def test_nan_in_the_input_data_names_the_input_node():
    bundle = blobs()
    (x,), _y = bundle.train_tensors
    x[40, 2] = float("nan")
    trainer = make_trainer({"epochs": 2}, bundle=bundle, callbacks=[Telemetry()])
    result = trainer.fit()
    assert result.failure.kind == "nan_loss" and result.failure.node_id == "x"
    assert "first non-finite values in node 'x' (Input), in the input data" in result.message


def test_nan_from_the_targets_is_blamed_on_the_loss_not_on_a_node():
    bundle = blobs(task="regression")
    _x, y = bundle.train_tensors
    y[40] = float("nan")
    trainer = make_trainer({"epochs": 2, "loss": {"type": "MSELoss"}}, bundle=bundle, callbacks=[Telemetry()])
    result = trainer.fit()
    assert result.failure.kind == "nan_loss" and result.failure.node_id is None
    assert "the model's output was finite at step" in result.message
    assert "the loss itself became non-finite" in result.message


def test_without_the_guard_the_node_found_afterwards_is_named_with_a_caveat():
    trainer = make_trainer({"epochs": 3}, callbacks=[PoisonWeights("fc2", 8), Telemetry(guard=False)])
    result = trainer.fit()
    assert result.failure.node_id == "fc1"  # every weight took the NaN gradients: the first layer shows it first
    assert "found after the failing step had updated the weights" in result.message
