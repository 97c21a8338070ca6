"""Re-make the README's screenshots of the training views (run under a real X server, e.g.
`Xvfb :99 -screen 0 1600x1000x24 & DISPLAY=:99 python scripts/screenshots.py`).

It trains the bundled digits example from the GUI as a user would (Train button), so the
pictures show what the current code draws: the Training dock mid-run with telemetry on the
graph, the Runs dock comparing two runs, the Evaluation dock and the Export dialog.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "screenshots"


def wait(ms: int) -> None:
    """Let the event loop run for `ms` (QTest.qWait keeps the GIL while it sleeps, which
    starves the training thread; a QEventLoop does not)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def main() -> int:
    scratch = Path(tempfile.mkdtemp(prefix="workbench-shots-"))
    os.environ["XDG_CONFIG_HOME"] = str(scratch / "config")
    os.environ["WORKBENCH_RUNS_DIR"] = str(scratch / "runs")
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from workbench.core.project import load_project
    from workbench.paths import DEFAULT_EXAMPLE
    from workbench.ui.main_window import MainWindow

    app = QApplication(sys.argv[:1])
    window = MainWindow(load_project(DEFAULT_EXAMPLE))
    window.resize(1500, 950)
    window.show()
    wait(1500)
    dash = window.training

    def train(epochs: int, lr: float, grab_at_epoch: int | None = None, name: str = "") -> None:
        dash.overrides = {"epochs": epochs, "optimizer": {"type": "Adam", "lr": lr}}
        window.docks["training"].show()
        window.docks["training"].raise_()
        QTest.mouseClick(dash.train_button, Qt.MouseButton.LeftButton)
        grabbed = False
        while dash.active:
            wait(50)
            epochs_done = dash.table.rowCount()
            if grab_at_epoch and not grabbed and epochs_done >= grab_at_epoch:
                wait(300)
                window.grab().save(str(OUT / name))
                grabbed = True

    train(40, 0.01, grab_at_epoch=14, name="training-digits.png")
    train(15, 0.002)
    runs = window.docks["runs"]
    runs.show()
    runs.raise_()
    panel = runs.widget()
    panel.refresh()
    wait(300)
    panel.table.selectAll()
    wait(500)
    window.grab().save(str(OUT / "runs-compare.png"))

    window.docks["evaluation"].show()
    window.docks["evaluation"].raise_()
    window.resizeDocks([window.docks["evaluation"]], [400], Qt.Orientation.Vertical)  # room for the matrix
    wait(1500)
    window.grab().save(str(OUT / "evaluation-digits.png"))

    window.show_export()
    dialog = window.export_dialog
    dialog.output_edit.setText(str(scratch / "digits_cnn.onnx"))
    dialog.export()
    while dialog.busy:
        wait(50)
    wait(300)
    dialog.grab().save(str(OUT / "export-dialog.png"))
    dialog.close()
    window.close()
    print(f"saved to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
