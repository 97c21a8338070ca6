"""The Data dock's Download row: "CIFAR10 needs a download (170 MB)", one click to fetch it.

Shown only while the data section names a set that is not on this machine
(data.download.pending_download, a few stat calls). The download runs on its own thread
(workbench.data.download.fetch) with a progress bar and a Cancel button; an error stays
in the row in red, with the button to try again. `downloaded` fires when the files are
in place, so the dock checks the data again.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

__all__ = ["DownloadRow"]


class _Relay(QObject):
    """Carries the download thread's news to the UI thread (queued signals)."""

    progress = Signal(int, int)  # bytes done, bytes in all
    done = Signal(str)  # "" on success, else the error message


class DownloadRow(QWidget):
    downloaded = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("data_download_row")
        self.pending = None  # the data.download.Download shown, or None
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self.relay = _Relay(self)
        self.relay.progress.connect(self._progress)
        self.relay.done.connect(self._done)
        self.label = QLabel()
        self.label.setObjectName("data_download_needed")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.button = QPushButton("Download")
        self.button.setObjectName("data_download_button")
        self.button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self._cancel.set)
        self.bar = QProgressBar()
        self.bar.setObjectName("data_download_progress")
        self.bar.setTextVisible(True)
        self.error = QLabel()
        self.error.setObjectName("data_download_error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d9534f;")
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.setVisible(False)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.bar, 1)
        row.addWidget(self.button)
        row.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addLayout(row)
        layout.addWidget(self.error)
        self.show_for(None, Path.cwd())

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def show_for(self, data: dict | None, base_dir: Path) -> None:
        """Show the row when `data` needs a download that is not here yet (never while one runs)."""
        if self.running:
            return
        from workbench.data.download import pending_download

        self.pending = pending_download(data, base_dir) if data is not None else None
        self.setVisible(self.pending is not None)
        if self.pending is not None:
            d = self.pending
            self.label.setText(f"<b>{d.name} {d.label}</b> into {d.root}. Nothing is fetched until you press "
                               f"Download (or run <code>workbench train --download PROJECT</code>).")
            self._idle()

    def _idle(self) -> None:
        self.bar.setVisible(False)
        self.cancel_button.setVisible(False)
        self.button.setVisible(True)
        self.button.setEnabled(True)

    def start(self) -> None:
        """Fetch the pending set on a background thread."""
        if self.pending is None or self.running:
            return
        from workbench.data.download import fetch

        download = self.pending
        self._cancel.clear()
        self.error.clear()
        self.error.setVisible(False)
        self.button.setVisible(False)
        self.cancel_button.setVisible(True)
        self.bar.setVisible(True)
        self.bar.setRange(0, 1000)
        self.bar.setValue(0)
        self.bar.setFormat(f"0 of {download.size_text}")

        def work() -> None:
            from workbench.data import DataError

            try:
                fetch(download, self.relay.progress.emit, self._cancel.is_set)
            except DataError as exc:
                self.relay.done.emit(str(exc))
            except Exception as exc:  # unpacking a damaged archive, a full disk...: shown, never raised
                self.relay.done.emit(f"could not download {download.name} to {download.root}: {exc}")
            else:
                self.relay.done.emit("")

        self._thread = threading.Thread(target=work, name="data-download", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> None:
        """Block until the download thread ends (tests, and closing the window)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def _progress(self, done: int, total: int) -> None:
        self.bar.setValue(int(1000 * done / max(total, 1)))
        self.bar.setFormat(f"{done / 1e6:,.1f} of {total / 1e6:,.0f} MB")

    def _done(self, error: str) -> None:
        self._thread = None
        self._idle()
        if error:
            self.error.setText(error)
            self.error.setVisible(True)
            self.button.setText("Try again")
            return
        self.button.setText("Download")
        self.setVisible(False)
        self.pending = None
        self.downloaded.emit()
