"""Start-up time: process start -> editor window shown, and -> project on screen.

Spawns `python main.py PROJECT` several times with WORKBENCH_STARTUP_PROBE=1, which
makes the app print a wall-clock timestamp when its window is first exposed ("shown")
and when the project is loaded and drawn ("ready": PyTorch imported, shapes inferred),
then quit. Each run uses fresh settings and data folders, so no saved layout or
recovery prompt interferes. Uses the X display in $DISPLAY when there is one,
otherwise Qt's offscreen platform.

    python benchmarks/startup.py [--runs 5] [--project resources/examples/digits_cnn.wbproj] [--entry ui]

`--entry ui` starts the GUI entry point (`workbench.ui.app.run_app`) directly instead of
`main.py`, which goes through `workbench.cli` first: the difference is what the command
line module costs at import.

Budget (issue 5): seconds (median, process start -> window shown) <= 1.5.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET = 1.5


ENTRIES = {
    "main": lambda project: [sys.executable, str(ROOT / "main.py"), str(project)],
    "ui": lambda project: [
        sys.executable, "-c", "import sys; from workbench.ui.app import run_app; sys.exit(run_app(sys.argv[1]))", str(project)
    ],
}


def one_run(project: Path, platform: str, entry: str = "main") -> tuple[float, float, float, float]:
    """Seconds from process start to window shown and to project ready, and the app's CPU
    seconds at each (which a busy machine does not inflate)."""
    with tempfile.TemporaryDirectory(prefix="wb-startup-") as home:
        env = dict(os.environ, WORKBENCH_STARTUP_PROBE="1", XDG_CONFIG_HOME=f"{home}/config", XDG_DATA_HOME=f"{home}/data")
        if platform == "offscreen":
            env["QT_QPA_PLATFORM"] = "offscreen"
        start = time.time()
        out = subprocess.run(
            ENTRIES[entry](project),
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
        )
    if out.returncode != 0:
        raise SystemExit(f"error: the app exited with {out.returncode}: {out.stderr.strip()[-400:]}")
    stamps = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0] == "startup-probe":
            stamps[parts[1]] = (float(parts[2]), float(parts[3]))
    if set(stamps) != {"shown", "ready"}:
        raise SystemExit(f"error: the app did not report start-up ({out.stdout.strip()[-300:]})")
    (shown, shown_cpu), (ready, ready_cpu) = stamps["shown"], stamps["ready"]
    return shown - start, ready - start, shown_cpu, ready_cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--project", type=Path, default=ROOT / "resources" / "examples" / "digits_cnn.wbproj")
    parser.add_argument("--entry", choices=sorted(ENTRIES), default="main", help="main.py (default) or the GUI entry itself")
    args = parser.parse_args()
    platform = "xcb" if os.environ.get("DISPLAY") and not os.environ.get("QT_QPA_PLATFORM") else "offscreen"
    one_run(args.project, platform, args.entry)  # warm the file cache: the first run after install is an outlier
    shown, ready, shown_cpu, ready_cpu = [], [], [], []
    print(f"{'run':>4}  {'window shown (s)':>17}  {'project ready (s)':>18}  {'CPU at shown (s)':>17}  {'CPU at ready (s)':>17}")
    for i in range(args.runs):
        a, b, c, d = one_run(args.project, platform, args.entry)
        shown.append(a)
        ready.append(b)
        shown_cpu.append(c)
        ready_cpu.append(d)
        print(f"{i + 1:>4}  {a:>17.3f}  {b:>18.3f}  {c:>17.3f}  {d:>17.3f}")
    seconds = statistics.median(shown)
    ready_seconds = statistics.median(ready)
    print(f"median window shown: {seconds:.3f} s (budget {BUDGET} s); project ready: {ready_seconds:.3f} s")
    print(f"median app CPU time at shown: {statistics.median(shown_cpu):.3f} s; at ready: {statistics.median(ready_cpu):.3f} s"
          f" (the process's own CPU seconds: a busy machine inflates wall time, not these)")
    print(f"platform: {platform}; entry: {args.entry}; project: {args.project.name}; {os.cpu_count()} CPUs")
    print(json.dumps({
        "name": "startup",
        "seconds": round(seconds, 4),
        "ratio": round(seconds / BUDGET, 4),
        "budget_seconds": BUDGET,
        "ready_seconds": round(ready_seconds, 4),
        "shown_cpu_seconds": round(statistics.median(shown_cpu), 4),
        "ready_cpu_seconds": round(statistics.median(ready_cpu), 4),
        "load": round(os.getloadavg()[0], 2),
        "runs": args.runs,
        "platform": platform,
        "entry": args.entry,
    }))
    return 0 if seconds <= BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
