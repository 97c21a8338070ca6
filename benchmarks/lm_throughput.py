"""Language-model throughput: training tokens/s through the Trainer vs hand-written PyTorch,
and generation tokens/s with PyTorch and onnxruntime.

The workload is the gpt_char example (a 0.8M-parameter char GPT, context 128) on its own
corpus, trained two ways in one process, on the CPU:

  hand     the network as hand-written PyTorch (the `workbench code` output of the graph with
           its sizes from the data) in a plain loop: windows sliced from the token memmap and
           stacked, warm-up lr, zero_grad, forward, cross-entropy over all positions,
           backward, grad-norm clip, AdamW step;
  trainer  the same project through `workbench.training.session.prepare(...).fit()`: the
           compiled graph, the Trainer's DataLoader over the text_corpus windows, its
           objective (causal LM), warm-up, clip and step events. Validation (eval_every) and
           max_steps are dropped, since the hand loop has neither, and num_workers is 0, since
           the hand loop loads on its own thread.

Both start from the same weights and see the same windows in the same order (the Trainer's
seeded per-epoch permutation), so their losses agree; the largest difference is printed as
a check that the two loops do the same work. Runs are timed and interleaved as in
benchmarks/train_overhead.py (its helpers are reused): warm-up steps excluded, rotating
order, each trainer run divided by the hand run of its round, the median of those paired
ratios reported with their min-max.

Generation: the example is trained briefly into a run folder, exported to ONNX, and 200
greedy tokens are timed with each back end through `workbench.inference` (median of reps).

    python benchmarks/lm_throughput.py [--reps 5] [--steps 20] [--warmup 5] [--batch-size 32]
                                       [--threads N] [--quick]

Budget (DESIGN.md section 7): ratio = trainer / hand step time <= 1.05.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import sys
import tempfile
import types
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from train_overhead import EXAMPLES, SEED, _now, _per_step, _Timer, epoch_order, hand_module  # noqa: E402

from workbench.core.project import load_project  # noqa: E402
from workbench.data.facts import bundle_facts, project_graph  # noqa: E402
from workbench.training.control import RunControl  # noqa: E402
from workbench.training.device import cpu_threads  # noqa: E402
from workbench.training.session import prepare  # noqa: E402

BUDGET = 1.05
PROJECT = EXAMPLES / "gpt_char.wbproj"
PROMPT = "In the beginning"
METHODS = ("hand", "trainer")


@dataclasses.dataclass
class Workload:
    project: object  # the example with validation and max_steps dropped (see the docstring)
    graph: object  # its graph with the sizes from the data resolved
    state: dict  # the initial weights both ways start from
    bundle: object
    batch_size: int
    epochs: int
    parameters: int


def lm_workload(batch_size: int, steps_needed: int) -> Workload:
    project = load_project(PROJECT)
    training = {k: v for k, v in project.training.items() if k not in ("eval_every", "max_steps")}
    project = dataclasses.replace(project, training={**training, "device": "cpu", "num_workers": 0,
                                                     "batch_size": batch_size})
    session = prepare(project, write_run=False)
    bundle = session.trainer.bundle
    epochs = math.ceil(steps_needed / math.ceil(len(bundle.train) / batch_size)) + 1
    model = session.trainer.model
    state = {k: v.clone() for k, v in model.state_dict().items()}
    return Workload(project, project_graph(project, bundle_facts(bundle)), state, bundle, batch_size, epochs,
                    sum(p.numel() for p in model.parameters()))


# -- the two ways ----------------------------------------------------------------------------

def hand_batches(w: Workload):
    """(x, y) batches for ever: each epoch's windows in the Trainer's order, sliced from the memmap."""
    tokens, stride, context = w.bundle.extra["tokens_train"], w.bundle.extra["stride"], w.bundle.extra["context"]
    n, epoch = len(w.bundle.train), 0
    while True:
        epoch += 1
        starts = (epoch_order(n, epoch) * stride).tolist()
        for i in range(0, n, w.batch_size):
            rows = [tokens[s:s + context + 1] for s in starts[i:i + w.batch_size]]
            chunk = torch.from_numpy(np.stack(rows).astype(np.int64))
            yield chunk[:, :-1], chunk[:, 1:]


def run_hand(w: Workload, warmup: int, steps: int):
    """(wall s/step, CPU s/step, loss at the last timed step)."""
    model = hand_module(types.SimpleNamespace(graph=w.graph, name=w.project.name), w.state).train()
    spec, cfg = w.project.training["optimizer"], w.project.training
    assert spec["type"] == "AdamW", "the benchmark mirrors the example's AdamW optimizer"
    opt = torch.optim.AdamW(model.parameters(), lr=spec["lr"], betas=tuple(spec["betas"]),
                            weight_decay=spec["weight_decay"])
    base_lr, lr_warmup, clip = spec["lr"], cfg.get("warmup_steps", 0), cfg["grad_clip"]
    batches = hand_batches(w)
    for step in range(warmup + steps):
        if step == warmup:
            start = _now()
        x, y = next(batches)
        for group in opt.param_groups:
            group["lr"] = base_lr * min(1.0, (step + 1) / lr_warmup) if lr_warmup else base_lr
        opt.zero_grad(set_to_none=True)
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
    return (*_per_step(start, _now(), steps), loss.item())


class _LossTimer(_Timer):
    """train_overhead's timer, also keeping the loss at the last timed step."""

    def on_batch_end(self, trainer, batch, loss):
        super().on_batch_end(trainer, batch, loss)
        if trainer.step == self.warmup + self.steps:
            self.loss = float(loss)


def run_trainer(w: Workload, warmup: int, steps: int, threads: int):
    control = RunControl()
    timer = _LossTimer(warmup, steps, control)
    session = prepare(w.project, overrides={"epochs": w.epochs}, control=control, callbacks=[timer],
                      num_threads=threads, write_run=False)
    session.trainer.model.load_state_dict(w.state)
    result = session.fit()
    assert result.state == "stopped" and result.step == warmup + steps, (result.state, result.step, result.message)
    return (*_per_step(timer.start, timer.end, steps), timer.loss)


def measure(w: Workload, reps: int, warmup: int, steps: int, threads: int, clock: int):
    """Per method: the (wall, cpu, loss) of each rep, in rounds of rotating order."""
    runners = {"hand": lambda: run_hand(w, warmup, steps), "trainer": lambda: run_trainer(w, warmup, steps, threads)}
    run_hand(w, 1, 1)  # untimed: imports, allocator, first-use costs
    run_trainer(w, 1, 1, threads)
    times = {m: [] for m in METHODS}
    for rep in range(reps):
        for m in METHODS[rep % 2:] + METHODS[:rep % 2]:
            times[m].append(runners[m]())
    paired = sorted(t[clock] / h[clock] for t, h in zip(times["trainer"], times["hand"]))
    return times, paired


# -- generation -------------------------------------------------------------------------------

def generation_speed(train_steps: int, new_tokens: int, reps: int, threads: int) -> dict:
    """{back end: (tokens generated, median tokens/s, min, max)} for greedy decoding of a briefly trained run."""
    from workbench.export import export
    from workbench.inference.generation import generate, timed
    from workbench.inference.opening import open_generator
    from workbench.inference.sampling import Sampling

    project = load_project(PROJECT)
    control = RunControl()
    with tempfile.TemporaryDirectory(prefix="lm_throughput.") as tmp:
        # stopped at train_steps by the timer's control (max_steps would validate the whole split first)
        session = prepare(project, runs_dir=Path(tmp), control=control, num_threads=threads,
                          callbacks=[_Timer(0, train_steps, control)], overrides={"device": "cpu", "num_workers": 0})
        result = session.fit()
        assert result.state == "stopped" and result.step == train_steps, (result.state, result.message)
        onnx_path = Path(tmp) / "gpt_char.onnx"
        report = export(project, "onnx", onnx_path, weights=session.run_dir)
        assert report.ok, report
        speeds = {}
        for name, onnx in (("pytorch", None), ("onnxruntime", onnx_path)):
            model, tokenizer = open_generator(project, session.run_dir, onnx=onnx)
            timed(generate(model, tokenizer, PROMPT, 5, Sampling(temperature=0)))  # warm-up
            runs = [timed(generate(model, tokenizer, PROMPT, new_tokens, Sampling(temperature=0)))
                    for _ in range(reps)]
            rates = [rate for _, rate in runs]
            speeds[name] = (len(runs[0][0]), statistics.median(rates), min(rates), max(rates))
    return speeds


# -- the report -------------------------------------------------------------------------------

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5, help="timed runs per method")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per run")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps at the start of each run")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the example's")
    parser.add_argument("--threads", type=int, default=cpu_threads(reserve=1), help="torch intra-op threads")
    parser.add_argument("--gen-tokens", type=int, default=200, help="new tokens per generation run")
    parser.add_argument("--gen-reps", type=int, default=3)
    parser.add_argument("--gen-train-steps", type=int, default=20, help="steps of the run that generation uses")
    parser.add_argument("--quick", action="store_true", help="tiny numbers (a smoke run)")
    args = parser.parse_args(argv)
    if args.quick:
        args.reps, args.steps, args.warmup, args.batch_size = 2, 2, 1, args.batch_size or 8
        args.gen_tokens, args.gen_reps, args.gen_train_steps = 20, 1, 2
    numbers = (args.reps, args.steps, args.warmup, args.threads, args.gen_tokens, args.gen_reps, args.gen_train_steps)
    if min(numbers) < 1 or (args.batch_size is not None and args.batch_size < 1):
        parser.error("--reps, --steps, --warmup, --threads, --batch-size and the --gen-* numbers must be at least 1")
    torch.set_num_threads(args.threads)
    batch_size = args.batch_size or load_project(PROJECT).training["batch_size"]
    w = lm_workload(batch_size, args.warmup + args.steps)
    context = w.bundle.extra["context"]
    clock = 1 if args.threads == 1 else 0
    clock_name = "thread CPU time" if clock else "wall time"
    times, paired = measure(w, args.reps, args.warmup, args.steps, args.threads, clock)
    ratio, spread = statistics.median(paired), [paired[0], paired[-1]]
    params = w.parameters
    print(f"torch {torch.__version__}, {args.threads} thread(s), gpt_char ({params / 1e6:.2f}M parameters, "
          f"context {context}), batch {batch_size}, {args.steps} timed steps after {args.warmup}, {args.reps} "
          f"interleaved reps; step time by {clock_name} (median; wall clock alongside)")
    header = f"{'method':<10} {'ms/step':>9} {'tokens/s':>10} {'wall ms':>9} {'vs hand':>8} {'min-max':>13}"
    print(header)
    print("-" * len(header))
    tokens_per_s = {}
    for m in METHODS:
        step = statistics.median(t[clock] for t in times[m])
        wall = statistics.median(t[0] for t in times[m])
        tokens_per_s[m] = batch_size * context / step
        vs, lo_hi = (ratio, f"{spread[0]:>6.3f}-{spread[1]:<6.3f}") if m == "trainer" else (1.0, "")
        print(f"{m:<10} {step * 1e3:>9.2f} {tokens_per_s[m]:>10.0f} {wall * 1e3:>9.2f} {vs:>8.3f} {lo_hi:>13}")
    loss_diff = max(abs(t[2] - h[2]) for t, h in zip(times["trainer"], times["hand"]))
    print("-" * len(header))
    print(f"ratio (trainer / hand): {ratio:.3f} (min-max {spread[0]:.3f}-{spread[1]:.3f})  budget <= {BUDGET}  "
          f"{'OK' if ratio <= BUDGET else 'OVER'}")
    print(f"same work: largest |trainer - hand| loss at the last timed step {loss_diff:.2e}")

    gen = generation_speed(args.gen_train_steps, args.gen_tokens, args.gen_reps, args.threads)
    print(f"\ngeneration: greedy, prompt {PROMPT!r}, after {args.gen_train_steps} training steps, "
          f"median of {args.gen_reps}")
    gen_header = f"{'back end':<12} {'tokens':>6} {'tokens/s':>10} {'min-max':>15}"
    print(gen_header)
    print("-" * len(gen_header))
    for name, (count, median, lo, hi) in gen.items():
        print(f"{name:<12} {count:>6} {median:>10.1f} {lo:>7.1f}-{hi:<7.1f}")
    print(json.dumps({
        "name": "lm_throughput", "ratio": round(ratio, 4), "ratio_spread": [round(v, 4) for v in spread],
        "budget": BUDGET, "tokens_per_s": round(tokens_per_s["trainer"], 1),
        "hand_tokens_per_s": round(tokens_per_s["hand"], 1),
        "gen_tokens_per_s": {name: round(v[1], 1) for name, v in gen.items()},
        "gen_tokens": {name: v[0] for name, v in gen.items()}, "loss_diff": loss_diff,
        "batch_size": batch_size, "context": context, "steps": args.steps, "warmup": args.warmup, "reps": args.reps,
        "threads": args.threads, "clock": clock_name, "device": "cpu", "parameters": params, "seed": SEED,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
