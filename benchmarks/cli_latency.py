"""Command-line latency: process start -> exit for the quick `workbench` commands.

Runs `workbench summary`, `validate`, `code`, `runs` and `--help` on a project (digits_cnn
by default) as a user would, each as a fresh process (the console script's own code: it
imports workbench.cli and calls main), several times, after one warm-up run each. Prints
the median wall time with its spread (min-max) and the median CPU time of the child
(user + system), which a busy machine does not inflate; `torch` says whether the command
imported PyTorch (checked once per command, in a separate run).

    python benchmarks/cli_latency.py [--reps 7] [--project resources/examples/digits_cnn.wbproj] [--tree DIR]

`--tree DIR` measures another checkout (e.g. an older commit unpacked with `git archive`),
to compare before and after.

Budget (DESIGN.md §7, issue 14): each of these commands <= 1 s (median wall time).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET = 1.0
ENTRY = "import sys; from workbench.cli import main; sys.argv[0] = 'workbench'; sys.exit(main())"
PROBE = (
    "import sys, atexit; atexit.register(lambda: print('TORCH', 'torch' in sys.modules, file=sys.stderr)); "
    "from workbench.cli import main; sys.argv[0] = 'workbench'; sys.exit(main())"
)


def commands(project: Path, runs_dir: Path) -> dict[str, list[str]]:
    return {
        "summary": ["summary", str(project)],
        "validate": ["validate", str(project)],
        "code": ["code", str(project)],
        "runs": ["runs", str(runs_dir)],
        "help": ["--help"],
    }


def one_run(argv: list[str], tree: Path, env: dict) -> tuple[float, float]:
    """(wall seconds, child CPU seconds) of one `workbench ARGV` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", ENTRY, *argv], cwd=tree, env=env, capture_output=True, text=True,
                         timeout=300)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        raise SystemExit(f"error: workbench {' '.join(argv)} exited with {out.returncode}: {out.stderr.strip()[-400:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def imports_torch(argv: list[str], tree: Path, env: dict) -> bool:
    out = subprocess.run([sys.executable, "-c", PROBE, *argv], cwd=tree, env=env, capture_output=True, text=True,
                         timeout=300)
    return "TORCH True" in out.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7, help="timed runs per command (at least 5)")
    parser.add_argument("--project", type=Path, default=ROOT / "resources" / "examples" / "digits_cnn.wbproj")
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout to measure (default: this one)")
    args = parser.parse_args()
    if args.reps < 5:
        parser.error("--reps must be at least 5")
    if not args.project.is_file():
        parser.error(f"{args.project}: no such file")
    tree = args.tree.resolve()
    results = {}
    with tempfile.TemporaryDirectory(prefix="wb-cli-latency-") as home:
        runs_dir = Path(home) / "runs"
        runs_dir.mkdir()
        env = dict(os.environ, PYTHONPATH=str(tree), XDG_CONFIG_HOME=f"{home}/config", XDG_DATA_HOME=f"{home}/data")
        env.pop("WORKBENCH_RUNS_DIR", None)
        for name, argv in commands(args.project.resolve(), runs_dir).items():
            one_run(argv, tree, env)  # warm the file cache
            walls, cpus = zip(*(one_run(argv, tree, env) for _ in range(args.reps)))
            results[name] = {"wall": walls, "cpu": cpus, "torch": imports_torch(argv, tree, env)}
    print(f"{'command':<10} {'median s':>9} {'min-max s':>13} {'CPU s':>7}  torch  budget {BUDGET} s")
    for name, r in results.items():
        median = statistics.median(r["wall"])
        spread = f"{min(r['wall']):.2f}-{max(r['wall']):.2f}"
        verdict = "ok" if median <= BUDGET else "over"
        print(f"{name:<10} {median:>9.3f} {spread:>13} {statistics.median(r['cpu']):>7.3f}  {str(r['torch']):<5}  {verdict}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"project: {args.project.name}; tree: {tree}; {args.reps} runs each; {os.cpu_count()} CPUs; load {load:.1f}")
    figures = {f"{name}_s": round(statistics.median(r["wall"]), 4) for name, r in results.items()}
    print(json.dumps({
        "name": "cli_latency",
        **figures,
        "spread_s": {name: [round(min(r["wall"]), 4), round(max(r["wall"]), 4)] for name, r in results.items()},
        "cpu_s": {name: round(statistics.median(r["cpu"]), 4) for name, r in results.items()},
        "imports_torch": {name: r["torch"] for name, r in results.items()},
        "budget_s": BUDGET,
        "ratio": round(max(figures.values()) / BUDGET, 4),
        "reps": args.reps,
        "load": round(load, 2),
    }))
    return 0 if all(v <= BUDGET for v in figures.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
