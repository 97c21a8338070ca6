"""File > Open in Netron: the last export (or a chosen model file) in Netron, in the browser.

Netron is optional (`pip install model-workbench[netron]`); without it the item says how
to get it. It serves from a background thread of this process on 127.0.0.1 only (never on
every interface: the model would be readable from the network), one file at a time: a new
file stops the previous server.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["MISSING_MESSAGE", "HOST", "NetronServer", "last_export", "open_in_netron"]

HOST = "127.0.0.1"
MISSING_MESSAGE = ("Open in Netron needs the optional netron package, which is not installed.\n\n"
                   "Install it with:\n    pip install model-workbench[netron]\n(or: pip install netron)")


class NetronMissing(Exception):
    pass


class NetronServer:
    """One Netron server on 127.0.0.1, restarted for each file."""

    def __init__(self) -> None:
        self.address: tuple[str, int] | None = None

    def serve(self, path: Path) -> str:
        """Serve `path`; returns its URL. Raises NetronMissing."""
        try:
            import netron
        except ImportError:
            raise NetronMissing(MISSING_MESSAGE) from None
        self.stop()
        host, port = netron.start(str(path), address=(HOST, 0), browse=False)
        self.address = (host, port)
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self.address is not None:
            import netron

            netron.stop(self.address)
            self.address = None


def last_export(window) -> Path | None:
    """The file of this session's last export that is still there, if any."""
    dialog = getattr(window, "export_dialog", None)
    outcome = getattr(dialog, "outcome", None)
    report = getattr(outcome, "report", None)
    path = Path(report.path) if report is not None and getattr(report, "path", None) else None
    return path if path is not None and path.is_file() else None


def open_in_netron(window) -> str | None:
    """The menu item: the last export (else ask for a file) served and opened in the browser."""
    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QDesktopServices
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    path = last_export(window)
    if path is None:
        chosen, _ = QFileDialog.getOpenFileName(window, "Open a model in Netron", "",
                                                "Models (*.onnx *.pt *.pt2 *.pth);;All files (*)")
        if not chosen:
            return None
        path = Path(chosen)
    server = getattr(window, "netron_server", None)
    if server is None:
        server = window.netron_server = NetronServer()
    try:
        url = server.serve(path)
    except NetronMissing as exc:
        QMessageBox.information(window, "Netron is not installed", str(exc))
        return None
    except OSError as exc:
        QMessageBox.critical(window, "Cannot start Netron", str(exc))
        return None
    window.statusBar().showMessage(f"Netron shows {path.name} at {url}", 10000)
    QDesktopServices.openUrl(QUrl(url))
    return url
