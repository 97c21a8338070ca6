"""Start-up: the window comes up before PyTorch is imported, then the project opens."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_window_modules_do_not_import_torch():
    code = "import sys, workbench.ui.main_window, workbench.ui.app; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# Builds the window on digits_cnn, shows it and lets it settle; notes which thread first
# imports torch (the check thread loading the data, or the app's loader, may; never the UI).
WINDOW = """
import builtins, sys, threading, time
first = []
real_import = builtins.__import__
def noting(name, *args, **kwargs):
    if not first and name.split(".")[0] == "torch" and "torch" not in sys.modules:
        first.append(threading.current_thread() is threading.main_thread())
    return real_import(name, *args, **kwargs)
builtins.__import__ = noting
from PySide6.QtWidgets import QApplication
app = QApplication([])
from workbench.core.project import load_project
from workbench.ui.main_window import MainWindow
window = MainWindow()
after_construct = "torch" in sys.modules
window.set_project(load_project(sys.argv[1]))
window.show()
end = time.monotonic() + 1.0
while time.monotonic() < end:
    app.processEvents()
    time.sleep(0.01)
window.document.flush()
print("RESULT", after_construct, bool(first and first[0]), not window.document.result.errors)
"""


def test_building_and_showing_the_window_does_not_import_torch_on_the_ui_thread(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path))
    example = ROOT / "resources" / "examples" / "digits_cnn.wbproj"
    out = subprocess.run(
        [sys.executable, "-c", WINDOW, str(example)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    lines = [line.split() for line in out.stdout.splitlines() if line.startswith("RESULT")]
    assert lines, out.stderr[-2000:]
    after_construct, on_ui_thread, shapes_ok = lines[-1][1:]
    assert after_construct == "False" and on_ui_thread == "False" and shapes_ok == "True"


# The app's start-up order on a project that uses a plugin layer: shown with a placeholder
# before the plugins (and torch) load, then shown again with the plugin's real layer.
PLUGIN_PROJECT = """
import json, sys, time
from PySide6.QtWidgets import QApplication
app = QApplication([])
from workbench.core.project import load_project
from workbench.plugin_demand import unknown_types
from workbench.ui import app as entry, torch_ready
from workbench.ui.main_window import MainWindow
window = MainWindow()
window.set_project(load_project(sys.argv[1]))
document, missing = window.document, unknown_types(window.document.graph)
before = window.document.graph.spec("relu1").category
torch_ready.start(entry._load_plugins)
torch_ready.when_loaded(lambda error: entry._plugins_loaded(window, document, missing, error))
end = time.monotonic() + 100
while not torch_ready.is_loaded() and time.monotonic() < end:
    app.processEvents()
    time.sleep(0.01)
app.processEvents()
window.document.flush()
errors = [d.message for d in window.document.result.errors]
print("RESULT " + json.dumps([sorted(missing), before, window.document.graph.spec("relu1").category, errors,
                              window.document is not document]))
"""


@pytest.mark.slow  # imports torch and the plugins in a fresh process: ~10 s
def test_a_project_using_a_plugin_layer_is_shown_again_once_the_plugins_load(tmp_path):
    doc = json.loads((ROOT / "resources" / "examples" / "digits_cnn.wbproj").read_text())
    relu = next(n for n in doc["graph"]["nodes"] if n["id"] == "relu1")
    relu["type"] = "Swish"  # the shipped plugins/swish.py
    path = tmp_path / "swish.wbproj"
    path.write_text(json.dumps(doc))
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", PLUGIN_PROJECT, str(path)], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=180)
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, out.stderr[-2000:]
    missing, before, after, errors, reshown = json.loads(lines[-1][len("RESULT "):])
    assert missing == ["Swish"] and before == "missing" and after != "missing"
    assert errors == [] and reshown


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
