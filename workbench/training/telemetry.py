"""Live per-node statistics while training, and the node where NaN/Inf first appears.

Every N steps `Telemetry` hooks the top-level submodules (one per node id) for ONE
training step: forward hooks armed after the step before and removed after the sampled
step, so the other steps run exactly as without it. On the device it computes each
node's activation mean, std (population), min, max, fraction of exact zeros (dead units after a
ReLU) and finiteness, then, after backward, the gradient norm of the node's parameters,
and reads all of it in one transfer into a "telemetry" event. N adapts so a sample costs
about `budget` of the training time and happens at most `max_rate_hz` times a second.

When the loss becomes NaN/Inf the weights are already spoilt by the time the Trainer
notices (every parameter has stepped with NaN gradients), so a forward afterwards blames
the first layer. On the CPU, where reading a number costs no device synchronisation, a
guard checks the model's output after every forward and, the first time it is not
finite, replays that forward (no grad, still in train mode) with the weights that
produced it, to find the first node whose weights or output hold NaN/Inf. Elsewhere the
replay runs when the run fails, on the last batch. `on_exception` names that node in
the failure.
"""

from __future__ import annotations

import math
import time

import torch
from torch import nn

from workbench.training.callbacks import Callback

__all__ = ["Telemetry", "first_nonfinite", "first_tensor", "sampling_interval"]

FIRST_STEP = 5  # the first sample: soon after the start, past the very first step
MIN_EVERY = 5
BUDGET = 0.005  # a sample may cost about 0.5% of the training time it covers
MAX_RATE_HZ = 2.0  # live enough for a glance; the canvas repaints no more often
STATS = 6  # figures per node from _stats


def first_tensor(value) -> torch.Tensor | None:
    """The tensor a node's output stands for: itself, or the first one in a tuple (LSTM)."""
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (tuple, list)):
        for item in value:
            found = first_tensor(item)
            if found is not None:
                return found
    return None


def _stats(t: torch.Tensor) -> torch.Tensor | None:
    """[mean, std, nonzero count, all finite, min, max] on the device (no synchronisation).

    Cheap passes only (on the CPU, std_mean and count_nonzero cost 20-60x a sum): a sum for
    the mean, the norm of the centred values for the std, |sign| summed for the nonzero
    count, and min/max, which are finite exactly when every value is."""
    if not (t.is_floating_point() and t.numel()):
        return None
    t = t.detach()
    n = t.numel()
    mean = t.sum(dtype=torch.float32) / n
    std = torch.linalg.vector_norm(t - mean.to(t.dtype), dtype=torch.float32) / math.sqrt(n)
    nonzero = torch.sign(t).abs_().sum(dtype=torch.float32)
    low, high = torch.aminmax(t)
    finite = torch.isfinite(low) & torch.isfinite(high)
    return torch.stack([mean, std, nonzero, finite.float(), low.float(), high.float()])


def sampling_interval(cost: float, step_time: float, budget: float = BUDGET,
                      min_interval: float = 1 / MAX_RATE_HZ) -> int:
    """Steps between samples so a sample (`cost` seconds) takes about `budget` of the training
    time and samples come no closer than `min_interval` seconds."""
    step_time = max(step_time, 1e-7)
    return max(MIN_EVERY, math.ceil(cost / (budget * step_time)), math.ceil(min_interval / step_time))


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


class Telemetry(Callback):
    """Emits "telemetry" events (see events.py) and locates the first non-finite node.

    `every`: a fixed sampling interval in steps (None: adapt); `sample=False` keeps only the
    NaN localisation; `guard`: check each forward's output (None: on the CPU only).
    """

    def __init__(self, every: int | None = None, *, sample: bool = True, guard: bool | None = None,
                 first: int = FIRST_STEP, budget: float = BUDGET, max_rate_hz: float = MAX_RATE_HZ) -> None:
        self.every = every
        self.sample = sample
        self.guard = guard
        self.first = max(1, first)
        self.budget = budget
        self.min_interval = 1.0 / max_rate_hz
        self.interval = every or MIN_EVERY  # the current N
        self.next_step = 0
        self.samples = 0
        self.spent = 0.0  # seconds this callback took from training: samples and guard checks
        self.diagnosis: tuple[str, str, str] | None = None  # (node id, layer type, where)
        self._nodes: list[tuple[str, nn.Module]] = []
        self._handles: list = []
        self._guard_handle = None
        self._records: dict[str, tuple[torch.Tensor, int] | None] = {}  # node id -> (stats, numel)
        self._guard_fired = False
        self._asked = False  # request_sample() was called
        self._guard_step: int | None = None  # the step whose output first held NaN/Inf
        self._cost = 0.0
        self._since = (0.0, 0)  # (time, step) the step-time estimate counts from

    # -- the Trainer's hooks ------------------------------------------------------------
    def on_fit_start(self, trainer) -> None:
        model = trainer.model
        self._nodes = list(model.named_children())
        self.next_step = trainer.step + self.first
        self.diagnosis = None
        self._guard_fired = False
        self._guard_step = None
        guard = self.guard if self.guard is not None else trainer.plan.device.type == "cpu"
        if guard:
            self._guard_handle = model.register_forward_hook(self._check_output(trainer))

    def on_epoch_start(self, trainer, epoch: int) -> None:
        self._since = (time.perf_counter(), trainer.step)
        if self.sample and trainer.step + 1 == self.next_step and not self._handles:
            self._arm()

    def request_sample(self) -> None:
        """Sample the next step, even with `sample` off (the GUI's "sample telemetry now";
        any thread: the training loop reads the flag)."""
        self._asked = True

    def on_batch_end(self, trainer, batch: int, loss) -> None:
        if self._handles:
            self._finish(trainer)
        if self._asked and not self._handles and batch + 1 < len(trainer.train_source):
            self._asked = False
            self._arm()
        elif self.sample and trainer.step + 1 == self.next_step:
            if batch + 1 < len(trainer.train_source):  # else on_epoch_start arms it, after validation
                self._arm()

    def on_exception(self, trainer, error) -> None:
        self._disarm()
        if getattr(error, "kind", None) != "nan_loss":
            return
        if self._guard_handle is not None:  # every output was checked: trust what the guard saw
            first_bad = first_nonfinite_step(trainer)
            if self.diagnosis is not None and self._guard_step == first_bad:
                _name_node(error, *self.diagnosis)
            elif first_bad is not None and (self._guard_step is None or self._guard_step > first_bad):
                error.message += (f"; the model's output was finite at step {first_bad}, so the loss itself "
                                  f"became non-finite: check the targets and the loss settings")
            return
        found = None
        if trainer.last_inputs is not None:
            found = first_nonfinite(trainer.model, trainer.last_inputs, trainer.bundle.input_names)
        if found is not None:  # seen after the failing step: the weights had taken NaN gradients by then
            _name_node(error, *found, after=True)

    def on_fit_end(self, trainer, result) -> None:
        self._disarm()
        if self._guard_handle is not None:
            self._guard_handle.remove()
            self._guard_handle = None

    # -- sampling ---------------------------------------------------------------------------
    def _arm(self) -> None:
        started = time.perf_counter()
        self._records = {}
        for node_id, module in self._nodes:
            self._handles.append(module.register_forward_hook(self._record(node_id)))
        self._cost = time.perf_counter() - started

    def _disarm(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _record(self, node_id: str):
        def hook(module, args, output) -> None:
            if node_id in self._records or not module.training:
                return
            started = time.perf_counter()
            tensor = first_tensor(output)
            stats = _stats(tensor) if tensor is not None else None
            self._records[node_id] = (stats, tensor.numel()) if stats is not None else None
            self._cost += time.perf_counter() - started

        return hook

    def _finish(self, trainer) -> None:
        """After the sampled step's backward: gradient norms, one read, one event."""
        started = time.perf_counter()
        self._disarm()
        records = self._records
        sampled = [n for n, r in records.items() if r is not None]  # in execution order
        grads, owners, with_grads = [], [], []
        for node_id, module in self._nodes:
            mine = [p.grad for p in module.parameters() if p.grad is not None and not p.grad.is_sparse]
            if mine:
                owners += [len(with_grads)] * len(mine)
                with_grads.append(node_id)
                grads += mine
        parts = [torch.cat([records[n][0] for n in sampled])] if sampled else []
        if grads:
            norms = torch.stack(torch._foreach_norm(grads)).float()
            index = torch.tensor(owners, device=norms.device)
            per_node = torch.zeros(len(with_grads), device=norms.device).index_add_(0, index, norms.square())
            parts.append(per_node.sqrt())
        values = torch.cat([p.to(parts[0].device) for p in parts]).tolist() if parts else []
        nodes = {n: {"mean": None, "std": None, "zeros": None, "min": None, "max": None, "grad_norm": None,
                     "finite": True}
                 for n in [*records, *(n for n in with_grads if n not in records)]}
        for i, node_id in enumerate(sampled):
            mean, std, nonzero, finite, low, high = values[STATS * i: STATS * (i + 1)]
            zeros = 1.0 - nonzero / records[node_id][1]
            nodes[node_id].update(mean=_finite_or_none(mean), std=_finite_or_none(std), zeros=_finite_or_none(zeros),
                                  min=_finite_or_none(low), max=_finite_or_none(high), finite=finite == 1.0)
        for i, node_id in enumerate(with_grads):
            norm = values[STATS * len(sampled) + i]
            nodes[node_id]["grad_norm"] = _finite_or_none(norm)
            nodes[node_id]["finite"] = nodes[node_id]["finite"] and math.isfinite(norm)
        self._schedule(trainer.step, started)
        trainer.emit("telemetry", step=trainer.step, epoch=trainer.epoch + 1, every=self.interval, nodes=nodes,
                     nonfinite=[n for n, v in nodes.items() if not v["finite"]])

    def _schedule(self, step: int, finish_started: float) -> None:
        """The next sampled step: cheap enough for the budget, no more often than max_rate_hz."""
        now = time.perf_counter()
        cost = self._cost + (now - finish_started)
        since_time, since_step = self._since
        self.samples += 1
        self.spent += cost
        if self.every is None:
            step_time = (now - since_time - cost) / max(1, step - since_step)
            self.interval = sampling_interval(cost, step_time, self.budget, self.min_interval)
        self.next_step = step + self.interval
        self._since = (now, step)

    # -- NaN localisation -------------------------------------------------------------------
    def _check_output(self, trainer):
        """The guard: the first time a training forward's output holds NaN/Inf, replay it."""
        def hook(module, args, output) -> None:
            if self._guard_fired or not module.training:
                return
            started = time.perf_counter()
            tensor = output if isinstance(output, torch.Tensor) else first_tensor(output)
            finite = tensor is None or not tensor.is_floating_point() or math.isfinite(
                float(tensor.detach().sum(dtype=torch.float32)))
            self.spent += time.perf_counter() - started
            if finite:
                return
            self._guard_fired = True
            self._guard_step = trainer.step + 1  # the step this forward belongs to
            self.diagnosis = first_nonfinite(module, args, trainer.bundle.input_names)

        return hook


def _name_node(error, node: str, layer: str, where: str, after: bool = False) -> None:
    error.node_id = node
    error.message += f"; first non-finite values in node {node!r} ({layer}), in {where}"
    if after:
        error.message += (" (found after the failing step had updated the weights, so it may have begun later "
                          "in the model)")


def first_nonfinite_step(trainer) -> int | None:
    """The first step of the Trainer's unread loss window whose loss is NaN/Inf (see steplog.py)."""
    losses = trainer.steplog.losses
    if not losses:
        return None
    values = torch.stack(losses).float().tolist()
    for i, value in enumerate(values):
        if not math.isfinite(value):
            return trainer.step - len(values) + 1 + i
    return None


def first_nonfinite(model: nn.Module, inputs: tuple, input_names=()) -> tuple[str, str, str] | None:
    """(node id, layer type, "its weights" | "its output" | "the input data") of the first node,
    in execution order, holding NaN/Inf, found by one forward without grad; None if none does."""
    for name, tensor in zip(input_names, inputs):
        if isinstance(tensor, torch.Tensor) and tensor.is_floating_point() and not torch.isfinite(tensor).all():
            return name, "Input", "the input data"
    found: list[tuple[str, str, str]] = []

    def watch(node_id: str):
        def hook(module, args, output) -> None:
            if found:
                return
            layer = type(module).__name__
            if any(not torch.isfinite(p).all() for p in module.parameters()):
                found.append((node_id, layer, "its weights"))
                return
            tensor = first_tensor(output)
            if tensor is not None and tensor.is_floating_point() and not torch.isfinite(tensor).all():
                found.append((node_id, layer, "its output"))

        return hook

    handles = [module.register_forward_hook(watch(name)) for name, module in model.named_children()]
    try:
        with torch.no_grad():
            model(*inputs)
    except Exception:  # noqa: BLE001 - a diagnosis that cannot run says nothing
        return None
    finally:
        for handle in handles:
            handle.remove()
    return found[0] if found else None
