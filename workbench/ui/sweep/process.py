"""A sweep started from the GUI: `python -m workbench.cli sweep SNAPSHOT --json ...` in a child
process (its workers are its own children), so no trial shares the UI's GIL.

The project as it is in the editor is written to a private temporary file; the child is
told which file it stands for (--project-path), so data paths and run folders are those
of the open project. Stop sends SIGTERM, which the command forwards to its workers: the
running trials end as "stopped". The dock reads progress from the study's storage, not
from the child's output; the child's stderr is kept in a file for the error it ends with.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["SweepProcess"]

ROOT = Path(__file__).resolve().parents[3]


class SweepProcess:
    def __init__(self, project, storage: str, study: str, *, trials: int, workers: int,
                 timeout: float | None = None) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="workbench-sweep-"))
        snapshot = self.folder / f"{Path(project.path).stem if project.path else 'untitled'}.wbproj"
        snapshot.write_text(json.dumps(project.to_dict()), encoding="utf-8")
        self.command = [sys.executable, "-m", "workbench.cli", "sweep", str(snapshot), "--storage", storage,
                        "--study", study, "--trials", str(trials), "--workers", str(workers), "--json"]
        if project.path is not None:
            self.command += ["--project-path", str(Path(project.path).resolve())]
        if timeout:
            self.command += ["--timeout", f"{timeout:g}s"]
        self.process: subprocess.Popen | None = None
        self._stderr = None

    def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
        self._stderr = open(self.folder / "stderr.txt", "w", encoding="utf-8")
        self.process = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=self._stderr, env=env, start_new_session=True)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def stop(self) -> None:
        if self.running:
            self.process.send_signal(signal.SIGTERM)

    def error(self) -> str:
        """The child's last `error:` line ("" when it said none)."""
        try:
            lines = (self.folder / "stderr.txt").read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return ""
        errors = [line[len("error:"):].strip() for line in lines if line.startswith("error:")]
        return errors[-1] if errors else ""

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop, wait, then kill the whole group: no worker outlives the app."""
        if self.process is not None and self.process.poll() is None:
            self.stop()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self._stderr is not None:
            self._stderr.close()
        shutil.rmtree(self.folder, ignore_errors=True)
