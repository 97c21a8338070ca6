"""Re-make docs/screenshots/generate-gpt-char.png: the Generate dock after training gpt_char.

    workbench train resources/examples/gpt_char.wbproj --runs-dir RUNS
    xvfb-run -a -s "-screen 0 1600x1000x24" python scripts/screenshot_generate.py RUNS

RUNS is the runs folder the example was trained into; the newest run of the example there
generates 300 tokens from a prompt, as a user would press Generate.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "screenshots" / "generate-gpt-char.png"


def wait(ms: int) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def main(runs: str) -> int:
    scratch = Path(tempfile.mkdtemp(prefix="workbench-shots-"))
    os.environ["XDG_CONFIG_HOME"] = str(scratch / "config")
    os.environ["WORKBENCH_RUNS_DIR"] = str(Path(runs).resolve())
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from workbench.core.project import load_project
    from workbench.paths import EXAMPLES
    from workbench.ui.main_window import MainWindow

    app = QApplication(sys.argv[:1])
    window = MainWindow(load_project(EXAMPLES / "gpt_char.wbproj"))
    window.resize(1500, 950)
    window.show()
    wait(1500)
    dock = window.docks["generate"]
    dock.show()
    dock.raise_()
    window.resizeDocks([dock], [520], Qt.Orientation.Horizontal)
    panel = dock.widget()
    panel.refresh()
    if panel.weights.count() == 0:
        print(f"no run of gpt_char with weights under {runs}: {panel.message.text()}", file=sys.stderr)
        return 1
    panel.prompt.setPlainText("And God said unto Moses,")
    panel.max_tokens.setValue(300)
    QTest.mouseClick(panel.generate_button, Qt.MouseButton.LeftButton)
    while panel.thread is not None:
        wait(50)
    wait(300)
    window.grab().save(str(OUT))
    print(f"wrote {OUT}: {panel.status.text()}")
    app.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "runs"))
