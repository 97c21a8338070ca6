"""Telemetry overhead: training steps/s with and without the Telemetry callback, headless.

Two networks (the digits CNN example, and the larger mnist_cnn example on MNIST-shaped
random data, batch 32) are trained through `workbench.training.Trainer` three ways in one process:

  plain      the Trainer as it is (step events every 10 steps, NaN checks), no telemetry;
  guard      Telemetry(sample=False): only the CPU NaN guard (one output check per step);
  telemetry  Telemetry() at its defaults, as the GUI attaches it: the guard, plus one sampled
             step every N (N adapts so a sample costs ~0.5% and comes at most twice a second).

Same weights, data, batches and optimizer for all three (the set-up of
benchmarks/train_overhead.py). Each run times a window of steps long enough to hold several
samples; runs are interleaved (rotating order), each run's step time is divided by the plain
run of the same round, and the median of those paired ratios is reported. With one intra-op
thread the step time is this thread's CPU time, which other processes on a shared machine do
not inflate (wall clock alongside).

    python benchmarks/telemetry_overhead.py [--reps 5] [--threads N] [--quick]

Budget (issue 6): ratio = telemetry / plain <= 1.03.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from train_overhead import _per_step, digits_workload, make_trainer, mnist_workload  # noqa: E402

from workbench.core.compile import compile_graph  # noqa: E402
from workbench.training.callbacks import Callback  # noqa: E402
from workbench.training.device import cpu_threads  # noqa: E402
from workbench.training.events import EventLog  # noqa: E402
from workbench.training.telemetry import Telemetry  # noqa: E402

BUDGET = 1.03
SEED = 0
METHODS = ("plain", "guard", "telemetry")


def callbacks_for(method: str) -> list:
    if method == "plain":
        return []
    return [Telemetry(sample=method == "telemetry")]


class Spent(Callback):
    """What Telemetry says it spent (`Telemetry.spent`) at the timed window's two ends."""

    def __init__(self, telemetry, warmup, steps):
        self.telemetry, self.warmup, self.steps = telemetry, warmup, steps
        self.marks = [0.0, 0.0]

    def on_batch_end(self, trainer, batch, loss):
        if self.telemetry is not None and trainer.step in (self.warmup, self.warmup + self.steps):
            self.marks[trainer.step != self.warmup] = self.telemetry.spent


def run(method, project, state, x, y, bs, warmup, steps):
    """(wall s/step, CPU s/step, samples inside the timed window, own cost in that window (s))."""
    log = EventLog()
    extra = callbacks_for(method)
    spent = Spent(extra[0] if extra else None, warmup, steps)
    trainer, timer = make_trainer(project, state, x, y, bs, warmup, steps, callbacks=[*extra, spent, log])
    result = trainer.fit()
    assert result.state == "stopped" and result.step == warmup + steps, (result.state, result.step, result.message)
    inside = [e for e in log.of("telemetry") if warmup < e["step"] <= warmup + steps]
    return (*_per_step(timer.start, timer.end, steps), len(inside), spent.marks[1] - spent.marks[0])


def measure(workload, reps, warmup, steps, clock):
    name, project, x, y, bs = workload
    torch.manual_seed(SEED)
    state = {k: v.clone() for k, v in compile_graph(project.graph, project.name).state_dict().items()}
    for m in METHODS:  # one untimed run each: first-use costs
        run(m, project, state, x, y, bs, 2, 8)
    times = {m: [] for m in METHODS}
    for rep in range(reps):
        order = METHODS[rep % len(METHODS):] + METHODS[:rep % len(METHODS)]
        for m in order:
            times[m].append(run(m, project, state, x, y, bs, warmup, steps))
    paired = {m: sorted(t[clock] / p[clock] for t, p in zip(v, times["plain"])) for m, v in times.items()}
    return name, bs, times, paired


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7, help="timed runs per method and model")
    parser.add_argument("--threads", type=int, default=cpu_threads(reserve=1), help="torch intra-op threads")
    parser.add_argument("--quick", action="store_true", help="shorter windows (a smoke run)")
    parser.add_argument("--mnist-samples", type=int, default=4096)
    parser.add_argument("--mnist-batch", type=int, default=32, help="the larger CNN's batch size")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    scale = 4 if args.quick else 1
    # windows of a few seconds each, so every telemetry run takes several samples
    name, project, x, y, _bs = mnist_workload(args.mnist_samples)
    larger = (f"{name.split()[0]} (batch {args.mnist_batch})", project, x, y, args.mnist_batch)
    plans = [(digits_workload(), 20, 1500 // scale), (larger, 5, 80 // scale)]
    clock = 1 if args.threads == 1 else 0
    clock_name = "thread CPU time" if clock else "wall time"
    print(f"torch {torch.__version__}, {args.threads} thread(s), cpu, interleaved runs; step time by {clock_name} "
          f"(median; wall clock alongside); 'vs plain' is the median paired ratio")
    header = (f"{'model':<26} {'method':<10} {'batch':>5} {'ms/step':>8} {'steps/s':>8} {'wall ms':>8} "
              f"{'samples':>7} {'own %':>6} {'vs plain':>8} {'quartiles':>13}")
    print(header)
    print("-" * len(header))
    figures = {}
    for workload, warmup, steps in plans:
        name, bs, times, paired = measure(workload, args.reps, warmup, steps, clock)
        entry = {"batch_size": bs, "steps": steps}
        for m in METHODS:
            step_s = statistics.median(t[clock] for t in times[m])
            wall = statistics.median(t[0] for t in times[m])
            samples = statistics.median(t[2] for t in times[m])
            own = statistics.median(t[3] / (t[0] * steps) for t in times[m])  # of the window's wall time
            ratio = statistics.median(paired[m])
            lo, hi = paired[m][len(paired[m]) // 4], paired[m][(3 * len(paired[m])) // 4]
            entry[m] = {"ms_per_step": step_s * 1e3, "steps_per_s": 1 / step_s, "wall_ms_per_step": wall * 1e3,
                        "samples_in_window": samples, "own_cost": own, "ratio": ratio, "quartiles": [lo, hi]}
            print(f"{name:<26} {m:<10} {bs:>5} {step_s * 1e3:>8.3f} {1 / step_s:>8.0f} {wall * 1e3:>8.3f} "
                  f"{samples:>7.0f} {own:>6.2%} {ratio:>8.3f} {lo:>6.3f}-{hi:<6.3f}")
        figures[name] = entry
    ratio = max(f["telemetry"]["ratio"] for f in figures.values())
    guard = max(f["guard"]["ratio"] for f in figures.values())
    own = max(f["telemetry"]["own_cost"] for f in figures.values())
    print("-" * len(header))
    print(f"ratio (telemetry / plain, worst model): {ratio:.3f}  budget <= {BUDGET}  "
          f"{'OK' if ratio <= BUDGET else 'OVER'}  (the NaN guard alone: {guard:.3f}); time the callback "
          f"itself counted, worst model: {own:.2%} of the wall time")
    print(json.dumps({"name": "telemetry_overhead", "ratio": round(ratio, 4), "guard_ratio": round(guard, 4),
                      "own_cost": round(own, 5),
                      "budget": BUDGET, "threads": args.threads, "reps": args.reps, "device": "cpu",
                      "clock": clock_name, "models": figures}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
