"""GUI runs in a child process: a killed child is a failed run that keeps its checkpoint and
the app trains again; a child never outlives the app that started it; "sample telemetry
now" reaches the Telemetry callback over the channel; the secret is checked both ways."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.gui.test_training_dashboard import click, dashboard_of, moons, steps_seen
from workbench.training.event_channel import ChannelError, EventServer, connect

ROOT = Path(__file__).resolve().parents[2]


def gone(pid: int) -> bool:
    """No such process, or a zombie nobody has reaped yet (a container's init may not)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False


def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_a_killed_training_process_is_a_failed_run_that_keeps_its_checkpoint(qtbot, make_window):
    window = make_window(moons())
    dash = dashboard_of(window)
    click(dash.train_button)
    qtbot.waitUntil(lambda: dash.checkpoint is not None, timeout=60000)  # epoch 1 saved
    checkpoint = Path(dash.checkpoint)
    os.kill(dash.run.pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: not dash.active, timeout=10000)
    assert dash.state == "failed"
    assert "SIGKILL" in dash.message.text(), dash.message.text()
    assert checkpoint.is_file()
    from workbench.training.runs import read_run

    assert read_run(checkpoint.parent).state == "failed"  # the Runs dock does not list it as running
    dash.overrides = {"epochs": 1}  # the app keeps working: the next run completes
    click(dash.train_button)
    qtbot.waitUntil(lambda: not dash.active, timeout=60000)
    assert dash.state == "completed", dash.message.text()


ORPHAN_SCRIPT = textwrap.dedent("""
    import sys, time
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from tests.gui.test_training_dashboard import moons
    from workbench.core.project import project_from_dict
    from workbench.ui.training.process_run import TrainingRun
    run = TrainingRun(project_from_dict(moons()), runs_dir=sys.argv[1])
    run.start()
    while not any(ev["event"] == "step" for ev in run.drain()):
        time.sleep(0.05)
    print(run.pid, flush=True)
    time.sleep(600)
""")


def test_the_training_process_ends_when_the_app_is_killed(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    app = subprocess.Popen([sys.executable, "-c", ORPHAN_SCRIPT, str(tmp_path)], stdout=subprocess.PIPE,
                           cwd=ROOT, env=env, text=True)
    try:
        child = int(app.stdout.readline())  # the child is training
        assert not gone(child)
        app.kill()  # kill -9: no Qt clean-up runs at all
        app.wait()
        assert wait_for(lambda: gone(child), 30), f"training process {child} outlived its app"
    finally:
        app.kill()
    checkpoints = list(tmp_path.rglob("checkpoint.pt"))
    assert checkpoints  # it stopped cooperatively: the run can resume
    states = [json.loads(line).get("state") for line in (checkpoints[0].parent / "metrics.jsonl").open()
              if '"state"' in line]
    assert "stopped" in states, states


def test_sample_telemetry_now_reaches_a_run_that_does_not_sample(qtbot):
    from workbench.core.project import project_from_dict
    from workbench.training.telemetry import Telemetry
    from workbench.ui.training.process_run import TrainingRun

    run = TrainingRun(project_from_dict(moons()), callbacks=(Telemetry(sample=False),))
    seen: list[dict] = []
    run.start()
    try:
        qtbot.waitUntil(lambda: seen.extend(run.drain()) or any(e["event"] == "step" for e in seen), timeout=60000)
        assert not any(e["event"] == "telemetry" for e in seen)
        run.sample_telemetry()
        qtbot.waitUntil(lambda: seen.extend(run.drain()) or any(e["event"] == "telemetry" for e in seen),
                        timeout=10000)
        sample = next(e for e in seen if e["event"] == "telemetry")
        assert set(sample["nodes"]) >= {"fc1", "act", "fc2"} and sample["nodes"]["fc1"]["grad_norm"] is not None
    finally:
        assert run.shutdown(20000)
    assert run.process.returncode == 130 and gone(run.pid)


def test_the_channel_refuses_a_process_without_the_runs_secret():
    server = EventServer({"overrides": {}}, callbacks=[])
    try:
        with pytest.raises(ChannelError, match="token"):
            connect(server.address, environ={})
        with pytest.raises(ChannelError, match="does not know the run's token"):
            connect(server.address, environ={"WORKBENCH_EVENTS_TOKEN": "ab" * 32}, timeout=5)
        with pytest.raises(ChannelError, match="loopback"):
            connect("10.0.0.1:80", environ=server.environment())
        client = connect(server.address, environ=server.environment())
        assert client.spec == {"overrides": {}} and client.callbacks == []
        client.send({"event": "log", "time": 0.0, "level": "info", "message": "nan", "value": float("nan")})
        ev = server.events.get(timeout=5)
        assert ev["message"] == "nan" and ev["value"] is None  # JSON: a non-finite figure is None
    finally:
        server.close()
