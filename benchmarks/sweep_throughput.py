"""Sweep throughput on the digits CNN: trials per minute with 1 and 2 worker processes, and
what a 20-trial sweep finds against the example's hand-set hyperparameters.

    .venv/bin/python benchmarks/sweep_throughput.py [--trials 6] [--epochs 3] [--search-trials 20]
                                                    [--search-epochs 10] [--quick] [--no-search]

Each figure is the real command (`workbench sweep PROJECT --workers K`, a fresh SQLite study
each time), timed from start to exit, so it includes each worker's start-up (importing
torch, loading the data) as a user's sweep does. The throughput sweeps vary only what does
not change a trial's cost (learning rate, optimizer) and prune nothing, so 1 and 2 workers
run the same work. The search part sweeps the learning rate
(log), the optimizer and both conv widths with TPE and the median pruner, and compares the
best trial's val_accuracy with one run of the example as shipped, trained for the same
epochs. On a 2-core machine two workers can at best double trials/min; a busy machine
shows less.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
EXAMPLE = ROOT / "resources" / "examples" / "digits_cnn.wbproj"
SPACE = {
    "training.optimizer.lr": {"type": "float", "low": 1e-4, "high": 0.1, "log": True},
    "training.optimizer.type": {"type": "categorical", "choices": ["Adam", "AdamW", "SGD"]},
    "nodes.conv1.out_channels": {"type": "int", "low": 8, "high": 32, "step": 8},
    "nodes.conv2.out_channels": {"type": "int", "low": 16, "high": 64, "step": 16},
}


def make_project(folder: Path, epochs: int, trials: int, throughput: bool = False) -> Path:
    doc = json.loads(EXAMPLE.read_text())
    doc["training"].update({"epochs": epochs, "device": "cpu", "tensorboard": False})
    space = {k: v for k, v in SPACE.items() if k.startswith("training.")} if throughput else SPACE
    doc["search"] = {"objective": {"metric": "val_accuracy", "direction": "maximize"}, "trials": trials,
                     "sampler": {"type": "tpe", "seed": 0}, "pruner": "none" if throughput else "median",
                     "space": space}
    path = folder / "digits.wbproj"
    path.write_text(json.dumps(doc))
    return path


def timed_sweep(project: Path, workers: int, trials: int, study: str) -> tuple[float, dict]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WORKBENCH_RUNS_DIR": str(project.parent / "runs")}
    storage = f"sqlite:///{project.parent / (study + '.db')}"
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "workbench.cli", "sweep", str(project), "--workers", str(workers),
                           "--trials", str(trials), "--storage", storage, "--study", study, "--json"],
                          capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"workbench sweep failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds, json.loads(done.stdout.strip().splitlines()[-1])


def hand_set(epochs: int, folder: Path) -> float:
    """The example's best val_accuracy with its own settings (only epochs and the device set)."""
    from workbench.core.project import load_project
    from workbench.training.session import prepare

    project = load_project(EXAMPLE)
    project.training.update({"epochs": epochs, "device": "cpu", "tensorboard": False})
    from workbench.training.runs import read_history

    result = prepare(project, runs_dir=folder / "hand").fit()
    return max(float(row["val_accuracy"]) for row in read_history(result.run_dir))  # the sweep's value: the best epoch


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=6, help="trials per throughput sweep (default 6)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per throughput trial (default 3)")
    parser.add_argument("--search-trials", type=int, default=20, help="trials of the search sweep (default 20)")
    parser.add_argument("--search-epochs", type=int, default=10, help="epochs per search trial (default 10)")
    parser.add_argument("--quick", action="store_true", help="4 trials of 2 epochs; a 8-trial, 4-epoch search")
    parser.add_argument("--no-search", action="store_true", help="only the trials/min figures")
    args = parser.parse_args()
    if args.quick:
        args.trials, args.epochs, args.search_trials, args.search_epochs = 4, 2, 8, 4
    folder = Path(tempfile.mkdtemp(prefix="workbench-sweep-bench-"))
    project = make_project(folder, args.epochs, args.trials, throughput=True)
    rates = {}
    for workers in (1, 2):
        seconds, report = timed_sweep(project, workers, args.trials, f"throughput-{workers}")
        states = [t["state"] for t in report["trials"]]
        rates[workers] = len(states) / (seconds / 60)
        print(f"{workers} worker(s): {len(states)} trials in {seconds:.1f}s = {rates[workers]:.2f} trials/min "
              f"({states.count('complete')} complete, {states.count('pruned')} pruned, {states.count('failed')} failed)")
    result = {"name": "sweep_throughput", "trials_per_min_1": round(rates[1], 3),
              "trials_per_min_2": round(rates[2], 3), "ratio": round(rates[2] / rates[1], 3),
              "trials": args.trials, "epochs": args.epochs, "cpus": os.cpu_count()}
    if args.no_search:
        print(json.dumps(result))
        return 0
    (folder / "search").mkdir()
    search = make_project(folder / "search", args.search_epochs, args.search_trials)
    seconds, report = timed_sweep(search, 2, args.search_trials, "search")
    best = report["best"]
    hand = hand_set(args.search_epochs, folder)
    print(f"search: {len(report['trials'])} trials ({args.search_epochs} epochs each, 2 workers) in {seconds:.0f}s")
    print(f"best trial {best['trial']}: val_accuracy {best['value']:.4f} with {best['params']}")
    print(f"the example's hand-set hyperparameters (Adam, lr 0.01): val_accuracy {hand:.4f}")
    print(f"importances: {report['importances'] or report['importances_note']}")
    print(json.dumps({**result, "search_trials": args.search_trials, "search_epochs": args.search_epochs,
                      "best_val_accuracy": round(best["value"], 4), "hand_val_accuracy": round(hand, 4)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
