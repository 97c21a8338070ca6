"""A GUI run in a child process: `python -m workbench.cli train SNAPSHOT --events HOST:PORT`,
or the same under `torch.distributed.run` for several devices.

Why a process and not a thread: a thread shares the GIL with the UI, and on 2 cores the
GUI/headless step ratio swung 1.05-1.33; a child also runs torchrun. The child imports
torch, builds the model and loads the data, so none of that touches the UI thread. The
project is written to a private temporary file (the run folder's project snapshot is
taken by the child from it); the child is told which path it stands for, so relative
data paths and the runs folder are those of the project in the editor.

Events arrive over event_channel.py on reader threads that only decode and enqueue; the
dashboard drains the queue from its timer, exactly as it did the thread's. When the child
ends without a final state (a segfault, an OOM kill, `kill -9`, a crash at start-up) the
run gets a "setup_error" with the exit status or signal and a "failed" state; its run
folder and last checkpoint stay. `shutdown()` asks the child to stop, then terminates
the process group after a timeout, then kills it: no orphan survives the app.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections import deque
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from workbench.training.control import RunControl
from workbench.training.event_channel import EventServer
from workbench.training.events import FINAL_STATES, event
from workbench.training.launch import Launch, launch_of, train_command

__all__ = ["TrainingRun", "exit_message"]

STDERR_LINES = 40


def exit_message(code: int, stderr_tail: list[str]) -> str:
    """Why the child ended without saying so: its last `error:` line, else the signal or status."""
    errors = [line for line in stderr_tail if line.startswith("error:")]
    if code == 2 and errors:
        return errors[-1][len("error:"):].strip()
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        why = {"SIGKILL": " (out of memory, or killed)", "SIGSEGV": " (a crash in native code)",
               "SIGABRT": " (aborted)"}.get(name, "")
        text = f"the training process was ended by {name}{why}"
    else:
        text = f"the training process exited with status {code}"
    last = errors[-1] if errors else (stderr_tail[-1] if stderr_tail else "")
    return f"{text}: {last}" if last else text


def _runs_base(runs_dir, project) -> str | None:
    """The --runs-dir that makes the child write where the Runs dock looks (run_home.runs_base)."""
    from workbench.training.run_home import runs_base

    base = runs_base(runs_dir, project) if hasattr(project, "path") else runs_dir
    return str(base) if base else None


class TrainingRun(QObject):
    """One run: its child process, event channel and what the user asked (lives on the UI thread).

    The public face is the one the dashboard used with the thread worker: start, pause,
    resume, stop, drain, running, shutdown, `control` (the requests made so far) and
    `finished`, emitted on the UI thread once the child has ended and its events are in.
    """

    finished = Signal()

    def __init__(self, project, *, overrides: dict | None = None, runs_dir: Path | None = None, callbacks=(),
                 resume: Path | None = None, launch: Launch | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.control = RunControl()  # a record of the requests; the child holds the real one
        self.launch = launch or launch_of(getattr(project, "training", None))
        self.folder = Path(tempfile.mkdtemp(prefix="workbench-run-"))
        stem = Path(project.path).stem if getattr(project, "path", None) else "untitled"
        self.snapshot = self.folder / f"{stem}.wbproj"
        self.snapshot.write_text(json.dumps(project.to_dict()), encoding="utf-8")
        spec = {"path": str(project.path) if getattr(project, "path", None) else None,
                "overrides": dict(overrides or {}), "runs_dir": _runs_base(runs_dir, project),
                "resume": str(resume) if resume else None}
        self.server = EventServer(spec, callbacks)
        self.process: subprocess.Popen | None = None
        self.returncode: int | None = None
        self.stderr_tail: deque[str] = deque(maxlen=STDERR_LINES)
        self.run_dir: str | None = None  # from the run's fit_start
        self._final_seen = False
        self._ended = threading.Event()
        self._pending: list[dict] = []  # events `_cleanup` took from the queue, for the next drain
        self._cleaned = False
        self.finished.connect(self._cleanup)

    @property
    def command(self) -> list[str]:
        return train_command(str(self.snapshot), self.launch, events=self.server.address)

    def start(self) -> None:
        env = {**os.environ, **self.server.environment(), "PYTHONUNBUFFERED": "1"}
        env.pop("WORLD_SIZE", None)  # a GUI itself started under torchrun must not pass its rank on
        kwargs = {"start_new_session": True} if os.name == "posix" else {
            "creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_package_root(), env.get("PYTHONPATH")) if p)
        self.process = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, env=env, **kwargs)
        threading.Thread(target=self._watch, name="run-watch", daemon=True).start()

    # ---- control ------------------------------------------------------------------------------
    def pause(self) -> None:
        self.control.pause()
        self.server.send_control("pause")

    def resume(self) -> None:
        self.control.resume()
        self.server.send_control("resume")

    def stop(self) -> None:
        self.control.stop()
        self.server.send_control("stop")
        if self.run_dir is None and self.running:  # still importing or loading data: nothing to keep, end it now
            self._signal_group(signal.SIGTERM)

    def sample_telemetry(self) -> None:
        """Ask for a telemetry sample at the next step (the Telemetry callback's `request_sample`)."""
        self.server.send_control("sample")

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def running(self) -> bool:
        return self.process is not None and not self._ended.is_set()

    def drain(self) -> list[dict]:
        out, self._pending = self._pending, []
        get = self.server.events.get_nowait
        while True:
            try:
                out.append(get())
            except Exception:  # queue.Empty
                break
        for ev in out:
            if ev["event"] == "state" and ev.get("state") in FINAL_STATES:
                self._final_seen = True
            elif ev["event"] == "fit_start" and isinstance(ev.get("run_dir"), str):
                self.run_dir = ev["run_dir"]
        return out

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Stop the run cooperatively (it saves its checkpoint); after `timeout_ms` terminate
        the child's process group, then kill it. True once the child is gone."""
        if self.process is None:
            return True
        self.stop()
        ended = self._ended.wait(timeout_ms / 1000)
        if not ended:
            self._signal_group(signal.SIGTERM)  # a second stop request: the child aborts at once
            ended = self._ended.wait(5.0)
        if not ended:
            self._signal_group(signal.SIGKILL if hasattr(signal, "SIGKILL") else signal.SIGTERM)
            ended = self._ended.wait(5.0)
        if ended:
            self._cleanup()  # now: `finished` is still queued, and this object may be deleted before it
        return ended

    def _signal_group(self, signum) -> None:
        try:
            if os.name == "posix":
                os.killpg(self.process.pid, signum)
            else:
                self.process.kill()
        except (ProcessLookupError, PermissionError, OSError):
            pass

    # ---- the watcher thread -------------------------------------------------------------------
    def _watch(self) -> None:
        """Keep the tail of the child's stderr, wait for it, then say how it ended (once)."""
        process = self.process
        for raw in process.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                self.stderr_tail.append(line)
        code = process.wait()
        if os.name == "posix":  # torchrun's workers, or anything the child left behind
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError, OSError):
                pass
        self.returncode = code
        self.server.join()
        self._ended.set()
        self.finished.emit()  # queued to the UI thread, where `_report_exit` runs first

    def _cleanup(self) -> None:
        """On the UI thread, once the child is gone: a failure it could not report, then tidy up."""
        if self._cleaned:
            return
        self._cleaned = True
        self._pending = self.drain()
        if not self._final_seen and self.returncode is not None:
            message = exit_message(self.returncode, list(self.stderr_tail))
            if self.control.stop_requested and self.run_dir is None:
                self._pending.append(event("state", state="stopped", message="stopped before training began"))
            elif not (self.returncode == 0 or self.control.stop_requested and self.returncode == 130):
                failed = event("state", state="failed", message=message)
                self._pending += [event("setup_error", message=message), failed]
                _log_in_run_folder(self.run_dir, failed)
        self.server.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def _log_in_run_folder(run_dir: str | None, ev: dict) -> None:
    """The child died before it could: end its metrics.jsonl with the failure, so the Runs
    dock lists the run as failed (not running) and it can resume from its checkpoint."""
    if run_dir is None:
        return
    log = Path(run_dir) / "metrics.jsonl"
    try:
        if log.is_file() and not log.is_symlink():
            with open(log, "a", encoding="utf-8") as f:
                f.write("\n" + json.dumps(ev) + "\n")  # after a line the crash may have cut short
    except OSError:
        pass


def _package_root() -> str:
    """Put first on the child's path, so `-m workbench.cli` is this very installation."""
    import workbench

    return str(Path(workbench.__file__).resolve().parent.parent)
