"""Re-make docs/screenshots/sweep-dock.png: the Sweep dock showing a finished study.

    workbench sweep PROJECT            # a project with a search section; fills PROJECT's .sweep.db
    xvfb-run -a -s "-screen 0 1600x1000x24" python scripts/screenshot_sweep.py PROJECT [TAB]

TAB is the plot shown (0 best so far, 1 importances, 2 parallel coordinates, 3 slice; default 0).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "screenshots" / "sweep-dock.png"


def wait(ms: int) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def main(project_path: str, tab: int) -> int:
    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="workbench-shots-")
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from workbench.core.project import load_project
    from workbench.ui.main_window import MainWindow

    app = QApplication(sys.argv[:1])
    window = MainWindow(load_project(project_path))
    window.resize(1500, 950)
    window.show()
    wait(1500)
    dock = window.docks["sweep"]
    dock.show()
    dock.raise_()
    window.resizeDocks([dock], [560], Qt.Orientation.Vertical)
    panel = dock.widget()
    panel.poll()
    if not panel.rows:
        print(f"no study for {project_path}: run `workbench sweep {project_path}` first", file=sys.stderr)
        return 1
    panel.plots.setCurrentIndex(tab)
    panel.table.selectRow(next(i for i, r in enumerate(panel.rows) if r.state == "complete"))
    wait(800)
    dock.grab().save(str(OUT))
    print(f"wrote {OUT}: {len(panel.rows)} trials")
    app.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0))
