"""Re-make the Try-it dock screenshots (docs/screenshots/try-it-image.png, try-it-text.png)
under a real X server at the default window size:

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/screenshots_try_it.py

It trains the bundled digits example and a small Transformer review classifier headless (as
`workbench train` does), opens each in the window, and uses the Try-it dock as a user
would: a 7 drawn on the pad with the mouse (saliency on), a sentence typed into the box.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "screenshots"
EXAMPLES = ROOT / "resources" / "examples"


def wait(ms: int) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def wait_for(condition, limit_ms: int = 120_000) -> None:
    waited = 0
    while not condition():
        if waited > limit_ms:
            raise SystemExit("the Try-it dock did not answer in time")
        wait(50)
        waited += 50


def trained(scratch: Path, example: str, epochs: int, data: dict | None = None) -> Path:
    """The saved project after a headless run of `epochs` on CPU."""
    from workbench.core.project import load_project, save_project
    from workbench.training.session import prepare

    project = load_project(EXAMPLES / f"{example}.wbproj")
    if data is not None:
        project.data = data
    project.training["device"] = "cpu"
    project.path = save_project(project, scratch / f"{example}.wbproj")
    result = prepare(project, overrides={"epochs": epochs}, runs_dir=Path(os.environ["WORKBENCH_RUNS_DIR"])).fit()
    print(f"{example}: {result.state} after {epochs} epochs")
    return project.path


def reviews_csv(folder: Path) -> None:
    rng = random.Random(0)
    good = ["good", "great", "lovely", "superb", "moving", "funny"]
    bad = ["bad", "awful", "dull", "boring", "slow", "silly"]
    lines = ["text,label"]
    for i in range(600):
        words = [rng.choice(good if i % 2 else bad) for _ in range(3)] + [rng.choice(["film", "plot", "cast"])]
        rng.shuffle(words)
        lines.append(f"{' '.join(words)},{'positive' if i % 2 else 'negative'}")
    (folder / "reviews.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def open_try_it(project_file: Path):
    from workbench.core.project import load_project
    from workbench.ui.main_window import MainWindow

    window = MainWindow(load_project(project_file))
    window.show()
    wait(1500)
    dock = window.docks["try_it"]
    dock.show()
    dock.raise_()
    panel = dock.widget()
    wait_for(lambda: panel.profile is not None and not panel.busy())
    return window, panel


def draw_seven(pad) -> None:
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    side = min(pad.width(), pad.height())
    x0, y0 = (pad.width() - side) // 2, (pad.height() - side) // 2

    def at(fx: float, fy: float) -> QPoint:
        return QPoint(x0 + int(side * fx), y0 + int(side * fy))

    top = [at(0.25 + 0.05 * i, 0.2) for i in range(11)]
    points = top + [at(0.75 - 0.04 * i, 0.2 + 0.065 * i) for i in range(1, 11)]
    QTest.mousePress(pad, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[0])
    for p in points[1:]:
        QTest.mouseMove(pad, p)
        wait(10)
    QTest.mouseRelease(pad, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[-1])


def main() -> int:
    scratch = Path(tempfile.mkdtemp(prefix="workbench-try-it-"))
    os.environ["XDG_CONFIG_HOME"] = str(scratch / "config")
    os.environ["WORKBENCH_RUNS_DIR"] = str(scratch / "runs")
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    OUT.mkdir(parents=True, exist_ok=True)

    digits = trained(scratch, "digits_cnn", 10)
    reviews_csv(scratch)
    data = {"source": "text_csv", "params": {"path": "reviews.csv"}, "val_fraction": 0.2, "augment": []}
    text = trained(scratch, "transformer_text_classifier", 6, data)

    window, panel = open_try_it(digits)
    image = panel.pages["image"]
    image.saliency.setChecked(True)
    draw_seven(image.pad)
    wait_for(lambda: panel.outcome is not None and not panel.busy() and image.view.has_heat())
    wait(500)
    window.grab().save(str(OUT / "try-it-image.png"))
    print("drawing:", panel.results.current().top[:3])
    window.close()

    window, panel = open_try_it(text)
    box = panel.pages["text"]
    box.box.setPlainText("a lovely funny film with a moving plot")
    box.predict_button.click()
    wait_for(lambda: panel.outcome is not None and not panel.busy())
    wait(500)
    window.grab().save(str(OUT / "try-it-text.png"))
    print("text:", panel.results.current().top)
    window.close()
    app.quit()
    print(f"saved to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
