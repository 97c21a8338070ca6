"""Live plot update with 10^6 points: what one dashboard tick costs once a long run has
filled the step-loss curve (DESIGN.md section 7: <= 20 ms).

The Training dock's plots (offscreen, 1200x260) get 10^6 steps of loss, learning rate and
samples/s, are drawn once, then take ticks like a running dashboard: a few new points,
one `refresh()` (the group of curves waiting longest, at most one per tick), and the
repaint of the plot that changed, forced with `repaint()` so it is timed here and not
later in the event loop. Printed: median, p95 and max per tick, split into refresh and
paint, with the same ticks at 10^4 points beside them for the ratio.

    python benchmarks/plot_update.py [--points 1000000] [--ticks 60]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

BUDGET_MS = 20.0


def ticks(points: int, n_ticks: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-tick refresh and paint times (ms) with `points` steps already plotted."""
    from workbench.ui.training.plots import LivePlots

    plots = LivePlots()
    plots.resize(1200, 260)
    plots.show()
    steps = np.arange(1, points + 1, dtype=np.float64)
    rng = np.random.default_rng(0)
    plots.step_loss.extend(steps, 1.0 + np.exp(-steps / (points / 5)) + rng.uniform(0, 0.3, points))
    plots.lr.extend(steps, np.full(points, 0.01))
    plots.speed.extend(steps, rng.uniform(900, 1100, points))
    plots.flush()
    plots.repaint()
    QApplication.processEvents()
    refresh, paint = [], []
    step = points
    for _ in range(n_ticks):
        for _ in range(10):  # a tick's worth of step events
            step += 1
            plots.add_step(step, 1.0 + rng.uniform(0, 0.3), 0.01, 1000.0)
        t0 = time.perf_counter()
        plots.refresh(force=True)
        t1 = time.perf_counter()
        plots.repaint()
        QApplication.processEvents()
        t2 = time.perf_counter()
        refresh.append((t1 - t0) * 1e3)
        paint.append((t2 - t1) * 1e3)
    plots.close()
    plots.deleteLater()
    QApplication.processEvents()
    return np.asarray(refresh), np.asarray(paint)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--ticks", type=int, default=60)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv[:1])  # noqa: F841 - keeps Qt alive
    rows = {}
    for points in (10_000, args.points):
        refresh, paint = ticks(points, args.ticks)
        total = refresh + paint
        rows[points] = total
        print(f"{points:>9,} points: tick median {np.median(total):6.2f} ms, p95 {np.percentile(total, 95):6.2f}, "
              f"max {total.max():6.2f} (refresh median {np.median(refresh):.2f}, paint median {np.median(paint):.2f})")
    big = rows[args.points]
    ratio = float(np.median(big) / np.median(rows[10_000]))
    p95 = float(np.percentile(big, 95))
    print(f"median tick at {args.points:,} points / at 10,000: {ratio:.2f}; p95 {p95:.2f} ms, budget {BUDGET_MS:.0f} ms: "
          + ("within budget" if p95 <= BUDGET_MS else "OVER BUDGET"))
    print(json.dumps({"name": "plot_update", "points": args.points, "median_ms": round(float(np.median(big)), 3),
                      "p95_ms": round(p95, 3), "max_ms": round(float(big.max()), 3), "ratio_vs_10k": round(ratio, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
