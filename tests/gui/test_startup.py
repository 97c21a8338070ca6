"""Start-up: the window comes up before PyTorch is imported, then the project opens."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_window_modules_do_not_import_torch():
    code = "import sys, workbench.ui.main_window, workbench.ui.app; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_main_py_shows_the_window_then_opens_the_project(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", WORKBENCH_STARTUP_PROBE="1")
    example = ROOT / "resources" / "examples" / "cifar_resnet_block.wbproj"
    out = subprocess.run(
        [sys.executable, "main.py", str(example)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    lines = [line.split() for line in out.stdout.splitlines() if line.startswith("startup-probe")]
    events = {parts[1]: float(parts[2]) for parts in lines}
    assert set(events) == {"shown", "ready"} and events["shown"] <= events["ready"]


def test_a_missing_file_is_one_error_line(tmp_path):
    out = subprocess.run(
        [sys.executable, "main.py", str(tmp_path / "nope.wbproj")],
        cwd=ROOT, env=dict(os.environ, QT_QPA_PLATFORM="offscreen"), capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 2 and out.stderr.startswith("error:") and "Traceback" not in out.stderr
