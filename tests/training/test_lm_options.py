"""Training options large models need: the causal-LM objective and its metrics, max_steps,
eval_every, gradient accumulation, activation checkpointing, torch.compile and AMP."""

import json
import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from tests.training.helpers import PairSet, blobs, make_trainer
from tests.training.test_cli_train import json_lines, project_copy
from workbench.cli import main
from workbench.core.compile import compile_graph
from workbench.core.graph import Graph
from workbench.core.tensors import TensorInfo
from workbench.data.bundle import DataBundle
from workbench.training import checkpoint as ckpt
from workbench.training import config as config_module
from workbench.training.checkpointing import enable_activation_checkpointing
from workbench.training.config import ConfigError, metric_mode, parse_config
from workbench.training.events import EventLog
from workbench.training.losses import ObjectiveError, choose_objective
from workbench.training.metrics import MetricAccumulator, available_metrics
from workbench.training.runs import RunFolder
from workbench.training.session import seed_everything
from workbench.training.trainer import Trainer

V, T, PAD = 12, 8, 0


def token_windows(n: int, seed: int = 0, pad_tail: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """(tokens[T]) -> next tokens[T] windows of a counting sequence 1, 2, .., V-1, 1, ...;
    `pad_tail` pads a random tail of each window (input and target) with PAD."""
    g = torch.Generator().manual_seed(seed)
    start = torch.randint(0, V - 1, (n, 1), generator=g)
    seq = (start + torch.arange(T + 1)) % (V - 1) + 1
    x, y = seq[:, :-1].clone(), seq[:, 1:].clone()
    if pad_tail:
        keep = torch.randint(2, T + 1, (n, 1), generator=g)
        tail = torch.arange(T) >= keep
        x[tail], y[tail] = PAD, PAD
    return x, y


def lm_bundle(n: int = 160, val: int = 48, pad_tail: bool = False, extra: dict | None = None) -> DataBundle:
    x, y = token_windows(n + val, pad_tail=pad_tail)
    return DataBundle(
        train=PairSet(x[:n], y[:n]), val=PairSet(x[n:], y[n:]), task="sequence", input_names=("tokens",),
        classes=[str(i) for i in range(V)], train_tensors=((x[:n],), y[:n]), val_tensors=((x[n:],), y[n:]),
        extra={"pad_index": PAD} if extra is None else extra,
    )


def lm_graph() -> Graph:
    g = Graph()
    g.add_node("tokens", "Input", {"shape": [T], "dtype": "int64"})
    g.add_node("emb", "Embedding", {"num_embeddings": V, "embedding_dim": 16})
    g.add_node("head", "Linear", {"out_features": V})
    g.add_node("out", "Output")
    g.connect("tokens", "emb")
    g.connect("emb", "head")
    g.connect("head", "out")
    return g


def gpt_graph() -> Graph:
    """Embedding -> two GPTBlocks -> Linear head: per-token logits [T, V]."""
    g = Graph()
    g.add_node("tokens", "Input", {"shape": [T], "dtype": "int64"})
    g.add_node("emb", "Embedding", {"num_embeddings": V, "embedding_dim": 16})
    g.add_node("b1", "GPTBlock", {"nhead": 2, "dropout": 0.1})
    g.add_node("b2", "GPTBlock", {"nhead": 2, "dropout": 0.1})
    g.add_node("head", "Linear", {"out_features": V})
    g.add_node("out", "Output")
    for a, b in (("tokens", "emb"), ("emb", "b1"), ("b1", "b2"), ("b2", "head"), ("head", "out")):
        g.connect(a, b)
    return g


def lm_trainer(training: dict | None = None, bundle: DataBundle | None = None, run_dir=None, callbacks=(),
               resume: dict | None = None, graph: Graph | None = None) -> Trainer:
    settings = {"epochs": 2, "batch_size": 16, "optimizer": {"type": "Adam", "lr": 0.05}, "device": "cpu",
                "objective": "causal_lm"}
    cfg = parse_config({**settings, **(training or {})})
    bundle = bundle or lm_bundle()
    seed_everything(cfg.seed)
    model = compile_graph(graph or lm_graph(), "lm")
    if resume is not None:
        model.load_state_dict(resume["model"])
    objective = choose_objective(cfg, bundle, TensorInfo((T, V)))
    run = RunFolder(run_dir) if run_dir is not None else None
    return Trainer(model, bundle, cfg, objective, callbacks=callbacks, run=run, resume=resume, project_name="lm")


# ---- settings ---------------------------------------------------------------------------------

def test_new_settings_parse_with_defaults():
    cfg = parse_config({})
    assert (cfg.objective, cfg.max_steps, cfg.eval_every, cfg.accumulate_steps) == ("auto", None, None, 1)
    assert cfg.activation_checkpointing is False and cfg.compile is None
    cfg = parse_config({"objective": "causal_lm", "max_steps": 500, "eval_every": 50, "accumulate_steps": 4,
                        "activation_checkpointing": True, "compile": True})
    assert (cfg.max_steps, cfg.eval_every, cfg.accumulate_steps, cfg.compile) == (500, 50, 4, "inductor")
    assert parse_config({"compile": "eager"}).compile == "eager"
    assert parse_config({}, {"max_steps": 7}).max_steps == 7  # the CLI override


@pytest.mark.parametrize("key, value", [
    ("objective", "mlm"), ("objective", 1), ("max_steps", 0), ("max_steps", 2.5), ("max_steps", True),
    ("eval_every", -1), ("eval_every", "10"), ("accumulate_steps", 0), ("accumulate_steps", None),
    ("activation_checkpointing", "yes"), ("compile", "tvm"), ("compile", 1),
])
def test_bad_settings_name_their_field(key, value):
    with pytest.raises(ConfigError, match=rf"^training\.{key}: "):
        parse_config({key: value})


def test_perplexity_improves_downwards():
    assert metric_mode("val_perplexity") == "min" and metric_mode("train_perplexity") == "min"
    assert metric_mode("val_token_accuracy") == "max"


# ---- the causal-LM objective ---------------------------------------------------------------------

def test_causal_lm_ignores_the_datas_padding():
    cfg = parse_config({"objective": "causal_lm"})
    for extra in ({"pad_index": 0}, {"tokenizer": SimpleNamespace(pad_id=0)}):
        objective = choose_objective(cfg, lm_bundle(extra=extra), TensorInfo((T, V)))
        assert objective.causal_lm and objective.ignore_index == 0
    logits = torch.randn(4, T, V)
    x, y = token_windows(4, pad_tail=True)
    real = y != PAD
    expected = F.cross_entropy(logits[real], y[real])  # the mean over real tokens only
    assert torch.allclose(objective(logits, y), expected)
    assert choose_objective(cfg, lm_bundle(extra={}), TensorInfo((T, V))).ignore_index is None
    explicit = parse_config({"objective": "causal_lm", "loss": {"type": "CrossEntropyLoss", "ignore_index": 3}})
    assert choose_objective(explicit, lm_bundle(), TensorInfo((T, V))).ignore_index == 3


def test_auto_takes_the_objective_the_data_declares():
    auto = parse_config({})
    declared = choose_objective(auto, lm_bundle(extra={"objective": "causal_lm", "pad_index": 0}), TensorInfo((T, V)))
    assert declared.causal_lm and declared.ignore_index == 0
    plain = choose_objective(auto, lm_bundle(), TensorInfo((T, V)))
    assert not plain.causal_lm and plain.ignore_index is None


def test_causal_lm_refuses_what_it_cannot_train():
    with pytest.raises(ObjectiveError, match="training.objective: causal_lm needs next-token data"):
        choose_objective(parse_config({"objective": "causal_lm"}), blobs(), TensorInfo((3,)))
    with pytest.raises(ObjectiveError, match="training.objective: causal_lm trains with CrossEntropyLoss"):
        choose_objective(parse_config({"objective": "causal_lm", "loss": "MSELoss"}), lm_bundle(), TensorInfo((T, V)))


def test_val_perplexity_is_exp_of_the_token_weighted_loss():
    objective = choose_objective(parse_config({"objective": "causal_lm"}), lm_bundle(), TensorInfo((T, V)))
    acc = MetricAccumulator(objective, V, 5, "cpu")
    g = torch.Generator().manual_seed(1)
    x, y = token_windows(6, pad_tail=True)
    batches = [(torch.randn(3, T, V, generator=g) * 3, y[:3]), (torch.randn(3, T, V, generator=g) * 3, y[3:])]
    batches.append((torch.randn(2, T, V, generator=g), torch.full((2, T), PAD)))  # padding only: adds nothing
    for out, tgt in batches:
        acc.update(out, tgt, objective(out, tgt))
    got = acc.compute()
    logits = torch.cat([b[0] for b in batches]).reshape(-1, V)
    target = torch.cat([b[1] for b in batches]).reshape(-1)
    real = target != PAD
    token_loss = F.cross_entropy(logits[real], target[real]).item()
    assert got["val_loss"] == pytest.approx(token_loss, rel=1e-6)
    assert got["val_perplexity"] == pytest.approx(math.exp(token_loss), rel=1e-6)
    batch_mean = sum(math.exp(objective(o, t).item()) for o, t in batches[:2]) / 2
    assert abs(got["val_perplexity"] - batch_mean) > 1e-3  # not the mean of batch perplexities
    correct = (logits.argmax(-1) == target)[real].float().mean().item()
    assert got["val_token_accuracy"] == pytest.approx(correct)
    assert acc.confusion_matrix() is None and set(got) == {"val_loss", "val_perplexity", "val_token_accuracy",
                                                           "val_samples"}


def test_a_language_model_trains_and_reports_perplexity():
    log = EventLog()
    trainer = lm_trainer({"epochs": 3}, bundle=lm_bundle(pad_tail=True), callbacks=[log])
    result = trainer.fit()
    assert result.state == "completed", result.message
    epochs = log.of("epoch")
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    for e in epochs:
        assert e["train_perplexity"] == pytest.approx(math.exp(e["train_loss"]))
        assert e["val_perplexity"] == pytest.approx(math.exp(e["val_loss"]))
    assert epochs[-1]["val_perplexity"] < epochs[0]["val_perplexity"] and epochs[-1]["val_token_accuracy"] > 0.9
    assert log.of("fit_start")[0]["objective"] == "causal_lm"
    assert available_metrics(trainer.objective, trainer.bundle, trainer.config) == [
        "train_loss", "train_perplexity", "val_loss", "val_perplexity", "val_token_accuracy"]


def test_early_stopping_can_watch_perplexity():
    result = lm_trainer({"epochs": 3, "early_stopping": {"metric": "val_perplexity", "patience": 1}}).fit()
    assert result.state == "completed" and result.best["metric"] == "val_perplexity" and result.best["mode"] == "min"


# ---- max_steps and eval_every ---------------------------------------------------------------------

def test_max_steps_ends_the_run_mid_epoch_like_an_epoch_end(tmp_path):
    log = EventLog()
    run = tmp_path / "run"
    result = lm_trainer({"epochs": 5, "max_steps": 13}, run_dir=run, callbacks=[log]).fit()  # 10 steps an epoch
    assert result.state == "completed" and result.step == 13 and "max_steps" in result.message
    epochs = log.of("epoch")
    assert [(e["epoch"], e["step"]) for e in epochs] == [(1, 10), (2, 13)] and "val_perplexity" in epochs[-1]
    assert (run / "final.pt").is_file() and (run / "best.pt").is_file()
    state = ckpt.load(run / "checkpoint.pt")
    assert (state["epoch"], state["batch"], state["step"]) == (1, 3, 13)  # a resume continues at batch 3
    assert ckpt.load(run / "final.pt")["step"] == 13

    more = EventLog()
    resumed = lm_trainer({"epochs": 5, "max_steps": 16}, run_dir=run, resume=state, callbacks=[more]).fit()
    assert resumed.state == "completed" and resumed.step == 16
    assert [(e["epoch"], e["step"]) for e in more.of("epoch")] == [(2, 16)]


def test_eval_every_validates_at_its_steps_and_best_pt_follows(tmp_path):
    log = EventLog()
    run = tmp_path / "run"
    result = lm_trainer({"epochs": 1, "eval_every": 3}, run_dir=run, callbacks=[log]).fit()  # 10 steps
    assert result.state == "completed"
    validations = log.of("validation")
    assert [v["step"] for v in validations] == [3, 6, 9, 10]  # and the epoch end
    assert all("val_perplexity" in v and v["epoch"] == 1 for v in validations)
    logged = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [e["step"] for e in logged if e["event"] == "validation"] == [3, 6, 9, 10]
    last_best = [v["step"] for v in validations if v["improved"]][-1]
    assert result.best["step"] == last_best
    assert ckpt.load(run / "best.pt")["step"] == last_best
    best_value = min(v["val_loss"] for v in validations)
    assert result.best["value"] == pytest.approx(best_value)


def test_eval_every_mid_epoch_checkpoint_resumes_exactly(tmp_path):
    run = tmp_path / "run"
    first = lm_trainer({"epochs": 1, "eval_every": 4, "max_steps": 6}, run_dir=run).fit()
    assert first.state == "completed"
    straight = lm_trainer({"epochs": 1}).fit()
    state = ckpt.load(run / "checkpoint.pt")
    assert (state["batch"], state["step"]) == (6, 6)
    resumed = lm_trainer({"epochs": 1}, run_dir=run, resume=state).fit()
    assert resumed.step == straight.step == 10
    assert resumed.metrics["val_loss"] == pytest.approx(straight.metrics["val_loss"], rel=1e-5)


def test_eval_every_without_validation_data_says_so():
    log = EventLog()
    result = make_trainer({"epochs": 1, "eval_every": 2}, bundle=blobs(val=0), callbacks=[log]).fit()
    assert result.state == "completed" and not log.of("validation")
    assert any("eval_every" in e["message"] for e in log.of("log"))


def test_cli_max_steps(tmp_path, capsys):
    path = project_copy(tmp_path)
    code = main(["train", path, "--epochs", "3", "--max-steps", "3", "--runs-dir", str(tmp_path / "runs"), "--json"])
    events = json_lines(capsys.readouterr().out)
    assert code == 0
    assert events[-1]["state"] == "completed" and "max_steps" in events[-1]["message"]
    assert [e["step"] for e in events if e["event"] == "epoch"] == [3]
    with pytest.raises(SystemExit) as exit_:
        main(["train", path, "--max-steps", "0"])
    assert exit_.value.code == 2
    assert "error: argument --max-steps: must be at least 1" in capsys.readouterr().err


# ---- gradient accumulation ----------------------------------------------------------------------

def test_accumulating_four_batches_of_8_is_one_step_of_32():
    def weights(batch_size, k):
        trainer = make_trainer({"epochs": 1, "batch_size": batch_size, "accumulate_steps": k, "max_steps": 1,
                                "optimizer": {"type": "SGD", "lr": 0.5}}, bundle=blobs(n=32, val=0))
        result = trainer.fit()
        assert result.state == "completed" and result.step == 1
        return [p.detach().clone() for p in trainer.model.parameters()]

    big, accumulated = weights(32, 1), weights(8, 4)
    start = make_trainer({"epochs": 1}, bundle=blobs(n=32, val=0)).model
    assert any(not torch.equal(a, b) for a, b in zip(big, start.parameters()))  # the step changed them
    for a, b in zip(big, accumulated):
        assert torch.allclose(a, b, atol=1e-6)


def test_steps_count_optimizer_steps_and_a_short_last_group_still_steps():
    log = EventLog()
    trainer = make_trainer({"epochs": 2, "batch_size": 8, "accumulate_steps": 4, "log_every_n_steps": 1},
                           bundle=blobs(n=40, val=16), callbacks=[log])  # 5 batches: steps of 4 and 1
    result = trainer.fit()
    assert result.state == "completed" and result.step == 4
    start = log.of("fit_start")[0]
    assert (start["steps_per_epoch"], start["batches_per_epoch"], start["accumulate_steps"]) == (2, 5, 4)
    assert [e["step"] for e in log.of("step")] == [1, 2, 3, 4]
    assert all(math.isfinite(e["loss"]) for e in log.of("step"))


# ---- activation checkpointing --------------------------------------------------------------------

class Block(nn.Module):
    """A block of our own that asks to be checkpointed, counting its inner forwards."""

    activation_checkpointing = True

    def __init__(self, width: int = 8) -> None:
        super().__init__()
        self.fc = nn.Linear(width, width)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return torch.tanh(self.fc(x)) + x


def _grads(model, x):
    model.zero_grad()
    model(x).square().sum().backward()
    return [p.grad.clone() for p in model.parameters()]


def test_checkpointed_blocks_recompute_and_give_the_same_gradients():
    torch.manual_seed(0)
    plain = nn.Sequential(Block(), nn.ReLU(), Block(), nn.Linear(8, 2))
    wrapped = nn.Sequential(Block(), nn.ReLU(), Block(), nn.Linear(8, 2))
    wrapped.load_state_dict(plain.state_dict())
    assert enable_activation_checkpointing(wrapped) == ["0", "2"]
    assert enable_activation_checkpointing(wrapped) == ["0", "2"]  # idempotent: not wrapped twice
    x = torch.randn(5, 8)
    for a, b in zip(_grads(plain, x), _grads(wrapped, x)):
        assert torch.allclose(a, b, atol=1e-6)
    assert plain[0].calls == 1 and wrapped[0].calls == 2  # run again in the backward pass
    wrapped.eval()
    with torch.no_grad():
        wrapped(x)
    assert wrapped[0].calls == 3  # evaluation: the plain forward, once


def test_transformer_layers_of_a_graph_are_checkpointed():
    g = Graph()
    g.add_node("tokens", "Input", {"shape": [T], "dtype": "int64"})
    g.add_node("emb", "Embedding", {"num_embeddings": V, "embedding_dim": 16})
    g.add_node("enc", "TransformerEncoderLayer", {"nhead": 2, "dim_feedforward": 32, "dropout": 0.0})
    g.add_node("head", "Linear", {"out_features": V})
    g.add_node("out", "Output")
    for a, b in (("tokens", "emb"), ("emb", "enc"), ("enc", "head"), ("head", "out")):
        g.connect(a, b)
    torch.manual_seed(0)
    plain = compile_graph(g, "lm")
    wrapped = compile_graph(g, "lm")
    wrapped.load_state_dict(plain.state_dict())
    assert enable_activation_checkpointing(wrapped) == ["enc"]
    calls = {"plain": 0, "wrapped": 0}
    plain.enc.linear1.register_forward_hook(lambda *a: calls.__setitem__("plain", calls["plain"] + 1))
    wrapped.enc.linear1.register_forward_hook(lambda *a: calls.__setitem__("wrapped", calls["wrapped"] + 1))
    x, _y = token_windows(4)
    for a, b in zip(_grads(plain, x), _grads(wrapped, x)):
        assert torch.allclose(a, b, atol=1e-5)
    assert calls == {"plain": 1, "wrapped": 2}


def test_gpt_blocks_are_checkpointed_in_training_with_the_same_gradients():
    g = gpt_graph()
    torch.manual_seed(0)
    plain = compile_graph(g, "gpt")
    wrapped = compile_graph(g, "gpt")
    wrapped.load_state_dict(plain.state_dict())
    assert enable_activation_checkpointing(wrapped) == ["b1", "b2"]
    calls = {"plain": 0, "wrapped": 0}
    plain.b2.mlp.register_forward_hook(lambda *a: calls.__setitem__("plain", calls["plain"] + 1))
    wrapped.b2.mlp.register_forward_hook(lambda *a: calls.__setitem__("wrapped", calls["wrapped"] + 1))
    x, _y = token_windows(4)
    torch.manual_seed(1)
    expected = _grads(plain, x)
    torch.manual_seed(1)  # the same dropout masks: checkpoint replays the RNG state when it recomputes
    for a, b in zip(expected, _grads(wrapped, x)):
        assert torch.allclose(a, b, atol=1e-5)
    assert calls == {"plain": 1, "wrapped": 2}


def test_the_trainer_checkpoints_when_asked_and_says_when_there_is_nothing_to():
    trainer = lm_trainer({"epochs": 2, "activation_checkpointing": True}, graph=gpt_graph())
    calls = []
    trainer.model.b1.attn.register_forward_hook(lambda *a: calls.append(trainer.model.training))
    result = trainer.fit()
    assert result.state == "completed", result.message
    assert result.metrics["val_token_accuracy"] > 0.5
    batches, val_batches = 2 * len(trainer.train_source), 2 * len(trainer.val_source)
    assert calls.count(True) == 2 * batches and calls.count(False) == val_batches  # recomputed in training only
    log = EventLog()
    assert make_trainer({"epochs": 1, "activation_checkpointing": True}, callbacks=[log]).fit().state == "completed"
    assert any("activation_checkpointing" in e["message"] for e in log.of("log"))


# ---- torch.compile -------------------------------------------------------------------------------

def test_compile_trains_through_dynamo():
    trainer = lm_trainer({"epochs": 1, "compile": "eager"})
    result = trainer.fit()
    assert result.state == "completed", result.message
    assert type(trainer.net).__name__ == "OptimizedModule" and result.metrics["val_token_accuracy"] > 0.5


def test_a_compile_failure_is_one_clear_message(monkeypatch):
    from torch._dynamo import register_backend
    from torch._dynamo.backends.registry import _BACKENDS

    def broken(gm, example_inputs):
        raise RuntimeError("no working C++ compiler found")

    if "workbench_test_broken" not in _BACKENDS:
        register_backend(broken, name="workbench_test_broken")
    monkeypatch.setattr(config_module, "COMPILE_BACKENDS", (*config_module.COMPILE_BACKENDS, "workbench_test_broken"))
    result = lm_trainer({"epochs": 1, "compile": "workbench_test_broken"}).fit()
    assert result.state == "failed" and result.failure.kind == "config"
    assert result.message.startswith("torch.compile could not compile the model")
    assert "no working C++ compiler found" in result.message and "training.compile to false" in result.message
    assert "\n" not in result.message


@pytest.mark.slow
def test_compile_with_inductor_on_the_cpu():
    result = lm_trainer({"epochs": 1, "compile": True}).fit()
    assert result.state == "completed", result.message
    assert result.metrics["val_token_accuracy"] > 0.5


# ---- mixed precision on CUDA -----------------------------------------------------------------------

@pytest.mark.cuda
@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_cuda_amp_trains_a_language_model_with_accumulation(amp):
    log = EventLog()
    trainer = lm_trainer({"epochs": 3, "device": "cuda", "amp": amp, "accumulate_steps": 2, "eval_every": 4},
                         callbacks=[log])
    result = trainer.fit()
    assert result.state == "completed", result.message
    assert log.of("fit_start")[0]["amp"] == amp
    assert trainer.scaler.is_enabled() == (amp == "fp16")
    assert math.isfinite(result.metrics["val_perplexity"]) and result.metrics["val_token_accuracy"] > 0.9


@pytest.mark.cuda
def test_cuda_activation_checkpointing_under_bf16():
    model = nn.Sequential(Block(64), Block(64)).cuda()
    enable_activation_checkpointing(model)
    x = torch.randn(16, 64, device="cuda")
    with torch.autocast("cuda", dtype=torch.bfloat16):
        loss = model(x).float().square().mean()
    loss.backward()
    assert model[0].calls == 2 and all(torch.isfinite(p.grad).all() for p in model.parameters())
