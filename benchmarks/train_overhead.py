"""Training-step overhead: the Workbench Trainer vs a hand-written loop (vs Lightning).

Two networks, each trained for a fixed number of steps three ways in one process:

  (a) hand     the network as hand-written PyTorch (the `workbench code` output: a plain
               nn.Module) in an idiomatic loop: zero_grad, forward, loss, backward, step;
  (b) trainer  the compiled graph (torch.fx) through `workbench.training.Trainer` with its
               defaults (step events every 10 steps, stop/pause flag, NaN checks), no run folder;
  (c) lightning  the same hand-written module in a LightningModule under `lightning.Trainer`
               (no logger, progress bar, checkpointing or validation), when Lightning is installed.

All three start from the same weights, use the same optimizer and see the same batches
(the Trainer's seeded per-epoch permutation, batches taken from in-memory tensors by
`index_select`). Each run times steps `warmup+1 .. warmup+steps` at batch end, so set-up
is excluded and epoch boundaries are included alike. Runs are interleaved (a, b, c, a, b,
c, ... in rotating order); each run's step time is divided by that of the hand-written run
of the same round, and the median of these paired ratios is reported. With one
intra-op thread (the default on a machine with two cores) every step runs on the calling
thread, so the step time is that thread's CPU time: what other processes on a shared
machine do then shows up in the wall clock (printed alongside) but not in the ratio.

    python benchmarks/train_overhead.py [--reps 5] [--threads N] [--quick]

Budget (DESIGN.md section 7): ratio = trainer / hand <= 1.03 on the CPU.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import math
import pstats
import statistics
import sys
import time
import types
import warnings
from pathlib import Path

import torch
from torch.nn import functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workbench.core.codegen import codegen  # noqa: E402
from workbench.core.compile import class_name, compile_graph  # noqa: E402
from workbench.core.project import load_project  # noqa: E402
from workbench.core.tensors import TensorInfo  # noqa: E402
from workbench.data.bundle import DataBundle  # noqa: E402
from workbench.training.callbacks import Callback  # noqa: E402
from workbench.training.config import parse_config  # noqa: E402
from workbench.training.control import RunControl  # noqa: E402
from workbench.training.device import cpu_threads  # noqa: E402
from workbench.training.losses import make_objective  # noqa: E402
from workbench.training.trainer import Trainer  # noqa: E402

BUDGET = 1.03
SEED = 0
EXAMPLES = ROOT / "resources" / "examples"


# -- the workloads -------------------------------------------------------------------------

def digits_workload():
    from workbench.data import load_data

    project = load_project(EXAMPLES / "digits_cnn.wbproj")
    inputs = {"image": TensorInfo((1, 8, 8))}
    bundle = load_data(project.data, inputs, SEED, EXAMPLES)
    (x,), y = bundle.train_tensors
    return "digits_cnn", project, x, y, project.training["batch_size"]


def mnist_workload(samples: int):
    """The mnist_cnn example on MNIST-shaped random data (no download needed)."""
    project = load_project(EXAMPLES / "mnist_cnn.wbproj")
    g = torch.Generator().manual_seed(SEED)
    x = torch.rand(samples, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (samples,), generator=g)
    return "mnist_cnn (MNIST-shaped)", project, x, y, project.training["batch_size"]


def hand_module(project, state):
    """The network as hand-written PyTorch: the standalone `workbench code` module."""
    source = codegen(project.graph, project.name)
    namespace = types.ModuleType("hand_written")
    exec(compile(source, "<hand-written>", "exec"), namespace.__dict__)  # noqa: S102 - our own codegen
    module = getattr(namespace, class_name(project.name))()
    module.load_state_dict(state)
    return module


def epoch_order(n: int, epoch: int) -> torch.Tensor:
    """The Trainer's order: DistributedSampler(shuffle=True, seed=SEED) with one replica."""
    g = torch.Generator()
    g.manual_seed(SEED + epoch)
    return torch.randperm(n, generator=g)


def optimizer_for(project, params):
    spec = project.training["optimizer"]
    assert spec["type"] == "Adam", "the benchmark mirrors the example's Adam optimizer"
    return torch.optim.Adam(params, lr=spec["lr"])


# -- the three ways --------------------------------------------------------------------------

def _now() -> tuple[float, float]:
    """(wall clock, CPU time of this thread). With one intra-op thread every step runs on this
    thread, so its CPU time is the step's cost without the waits other processes cause."""
    return time.perf_counter(), time.thread_time()


def _per_step(start, end, steps) -> tuple[float, float]:
    return (end[0] - start[0]) / steps, (end[1] - start[1]) / steps


def run_hand(project, state, x, y, bs, warmup, steps):
    model = hand_module(project, state).train()
    opt = optimizer_for(project, model.parameters())
    n, step, marks = len(y), 0, {}
    epoch = 0
    while step < warmup + steps:
        epoch += 1
        order = epoch_order(n, epoch)
        for i in range(0, n, bs):
            idx = order[i:i + bs]
            xb, yb = x.index_select(0, idx), y.index_select(0, idx)
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            step += 1
            if step == warmup:
                marks["start"] = _now()
            if step == warmup + steps:
                marks["end"] = _now()
                break
    return _per_step(marks["start"], marks["end"], steps)


class _Timer(Callback):
    def __init__(self, warmup, steps, control):
        self.warmup, self.steps, self.control = warmup, steps, control
        self.start = self.end = None

    def on_batch_end(self, trainer, batch, loss):
        if trainer.step == self.warmup:
            self.start = _now()
        elif trainer.step == self.warmup + self.steps:
            self.end = _now()
            self.control.stop()


def make_trainer(project, state, x, y, bs, warmup, steps, callbacks=()):
    torch.manual_seed(SEED)
    model = compile_graph(project.graph, project.name)
    model.load_state_dict(state)
    per_epoch = math.ceil(len(y) / bs)
    cfg = parse_config({**project.training, "batch_size": bs, "epochs": math.ceil((warmup + steps) / per_epoch) + 1,
                        "device": "cpu", "seed": SEED, "num_workers": 0})
    bundle = DataBundle(train=_Sized(len(y)), val=None, task="classification", input_names=("image",),
                        classes=[str(i) for i in range(10)], train_tensors=((x,), y))
    objective = make_objective(cfg.loss, "classification", TensorInfo((10,)))
    control = RunControl()
    timer = _Timer(warmup, steps, control)
    trainer = Trainer(model, bundle, cfg, objective, callbacks=[timer, *callbacks], control=control)
    return trainer, timer


def run_trainer(project, state, x, y, bs, warmup, steps):
    trainer, timer = make_trainer(project, state, x, y, bs, warmup, steps)
    result = trainer.fit()
    assert result.state == "stopped" and result.step == warmup + steps, (result.state, result.step, result.message)
    return _per_step(timer.start, timer.end, steps)


class _Sized(torch.utils.data.Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n


def run_lightning(project, state, x, y, bs, warmup, steps):
    import lightning as L

    class Batches(torch.utils.data.Dataset):
        """Whole batches by index_select, in the Trainer's per-epoch order."""

        def __len__(self):
            return len(y)

        def __getitems__(self, indices):
            idx = torch.as_tensor(indices)
            return x.index_select(0, idx), y.index_select(0, idx)

    class EpochOrder(torch.utils.data.Sampler):
        def __init__(self):
            self.epoch = 0

        def __iter__(self):
            self.epoch += 1
            order = epoch_order(len(y), self.epoch)
            return iter([order[i:i + bs].tolist() for i in range(0, len(y), bs)])

        def __len__(self):
            return math.ceil(len(y) / bs)

    class Module(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = hand_module(project, state)

        def training_step(self, batch, batch_idx):
            xb, yb = batch
            return F.cross_entropy(self.net(xb), yb)

        def configure_optimizers(self):
            return optimizer_for(project, self.parameters())

    class Timer(L.Callback):
        def __init__(self):
            self.start = self.end = None

        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
            if trainer.global_step == warmup:
                self.start = _now()
            elif trainer.global_step == warmup + steps:
                self.end = _now()

    loader = torch.utils.data.DataLoader(Batches(), batch_sampler=EpochOrder(), collate_fn=lambda b: b)
    timer = Timer()
    trainer = L.Trainer(accelerator="cpu", devices=1, max_steps=warmup + steps, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        num_sanity_val_steps=0, limit_val_batches=0, callbacks=[timer])
    trainer.fit(Module(), train_dataloaders=loader)
    return _per_step(timer.start, timer.end, steps)


# -- measuring -------------------------------------------------------------------------------

def measure(workload, methods, reps, warmup, steps, clock):
    """Median per-step time of each method; `clock` 0 = wall, 1 = this thread's CPU time."""
    name, project, x, y, bs = workload
    torch.manual_seed(SEED)
    state = {k: v.clone() for k, v in compile_graph(project.graph, project.name).state_dict().items()}
    times = {m: [] for m in methods}
    for m in methods:  # one untimed run each: imports, allocator, first-use costs
        RUNNERS[m](project, state, x, y, bs, 2, 3)
    for rep in range(reps):
        order = methods[rep % len(methods):] + methods[:rep % len(methods)]
        for m in order:
            times[m].append(RUNNERS[m](project, state, x, y, bs, warmup, steps))
    med = {m: statistics.median(t[clock] for t in v) for m, v in times.items()}
    wall = {m: statistics.median(t[0] for t in v) for m, v in times.items()}
    # paired ratios: each run against the hand-written run of the same round (adjacent in
    # time, so a slow spell on a shared machine hits both); their median is the figure
    paired = {m: sorted(a[clock] / h[clock] for a, h in zip(v, times["hand"])) for m, v in times.items()}
    return name, bs, med, wall, paired


def where_time_goes(workload, warmup, steps):
    """cProfile of one Trainer run: the functions outside torch that took the most time."""
    name, project, x, y, bs = workload
    torch.manual_seed(SEED)
    state = compile_graph(project.graph, project.name).state_dict()
    trainer, _ = make_trainer(project, state, x, y, bs, warmup, steps)
    profiler = cProfile.Profile()
    profiler.enable()
    trainer.fit()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats("tottime")
    stats.print_stats(r"workbench|optim|autograd|module\.py", 15)
    return out.getvalue()


RUNNERS = {"hand": run_hand, "trainer": run_trainer, "lightning": run_lightning}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=9, help="timed runs per method (twice that for the small model)")
    parser.add_argument("--threads", type=int, default=cpu_threads(reserve=1), help="torch intra-op threads")
    parser.add_argument("--quick", action="store_true", help="fewer steps (a smoke run)")
    parser.add_argument("--mnist-samples", type=int, default=4096)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")  # Lightning's advice about workers etc.
    try:
        import lightning  # noqa: F401
        methods = ["hand", "trainer", "lightning"]
        import logging
        logging.getLogger("lightning").setLevel(logging.ERROR)
        logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    except ImportError:
        methods = ["hand", "trainer"]
    plans = [(digits_workload(), 20, 60 if args.quick else 150, args.reps * 2),
             (mnist_workload(args.mnist_samples), 3, 6 if args.quick else 10, args.reps)]
    clock = 1 if args.threads == 1 else 0
    clock_name = "thread CPU time" if clock else "wall time"
    print(f"torch {torch.__version__}, {args.threads} thread(s), interleaved runs; step time by {clock_name} "
          f"(median; wall clock alongside); 'vs hand' is the median paired ratio")
    header = (f"{'model':<26} {'method':<10} {'batch':>5} {'ms/step':>9} {'samples/s':>10} {'wall ms':>9} "
              f"{'vs hand':>8} {'quartiles':>13}")
    print(header)
    print("-" * len(header))
    figures = {}
    for workload, warmup, steps, reps in plans:
        name, bs, med, wall, paired = measure(workload, methods, reps, warmup, steps, clock)
        entry = {"batch_size": bs, "steps": steps, "clock": clock_name}
        for m in methods:
            ratio = statistics.median(paired[m])
            lo, hi = paired[m][len(paired[m]) // 4], paired[m][(3 * len(paired[m])) // 4]
            entry[m] = {"ms_per_step": med[m] * 1e3, "samples_per_s": bs / med[m], "wall_ms_per_step": wall[m] * 1e3,
                        "ratio": ratio, "quartiles": [lo, hi]}
            print(f"{name:<26} {m:<10} {bs:>5} {med[m] * 1e3:>9.3f} {bs / med[m]:>10.0f} {wall[m] * 1e3:>9.3f} "
                  f"{ratio:>8.3f} {lo:>6.3f}-{hi:<6.3f}")
        figures[name] = entry
        if entry["trainer"]["ratio"] > BUDGET:
            print(f"\n{name}: trainer/hand {entry['trainer']['ratio']:.3f} is over the {BUDGET} budget; "
                  f"where one Trainer run spends its time:")
            print(where_time_goes(workload, warmup, steps))
    ratio = max(f["trainer"]["ratio"] for f in figures.values())
    lightning_ratio = (max(f["lightning"]["ratio"] for f in figures.values()) if "lightning" in methods else None)
    print("-" * len(header))
    print(f"ratio (trainer / hand, worst model): {ratio:.3f}  budget <= {BUDGET}  "
          f"{'OK' if ratio <= BUDGET else 'OVER'}")
    print(f"lightning_ratio (lightning / hand, worst model): "
          f"{'n/a (pip install model-workbench[bench])' if lightning_ratio is None else f'{lightning_ratio:.3f}'}")
    print(json.dumps({"name": "train_overhead", "ratio": round(ratio, 4),
                      "lightning_ratio": None if lightning_ratio is None else round(lightning_ratio, 4),
                      "budget": BUDGET, "threads": args.threads, "reps": args.reps, "device": "cpu",
                      "clock": clock_name,
                      "models": figures}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
