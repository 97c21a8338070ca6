"""The Devices rows of the Training settings: how many processes train the project (one per
GPU, or CPU processes with gloo), how they share the model (DDP or FSDP), and "Print
command", which shows the exact command line for this project on this machine and the
multi-machine torchrun form (training.devices / training.strategy; launch.py builds both).

The device count comes from `torch.cuda.device_count()` once torch has loaded in the
background (torch_ready), never on the UI thread's start-up path.
"""

from __future__ import annotations

import os

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QPlainTextEdit, QPushButton, QSpinBox, QWidget

from workbench.training.launch import STRATEGIES, launch_of, shown_commands

__all__ = ["DevicesControl", "install_devices"]

MAX_CPU_PROCESSES = 8


class DevicesControl:
    def __init__(self, panel) -> None:
        self.panel = panel
        self.gpus: int | None = None  # None: not asked yet
        spin = QSpinBox()
        spin.setRange(1, max(1, min(MAX_CPU_PROCESSES, os.cpu_count() or 1)))
        spin.setSuffix(" process(es)")
        self.spin = panel._add("devices", "Devices", spin)
        panel._hint(self.spin, "Train with this many processes under torchrun (one per GPU; on the CPU, "
                               "processes that average gradients over gloo). 1: a single process")
        self.strategy = panel._add("strategy", "    strategy", QComboBox())
        self.strategy.addItems(list(STRATEGIES))
        panel._hint(self.strategy, "ddp: every process holds the whole model (the default); fsdp: parameters, "
                                   "gradients and optimizer state are sharded (models that do not fit one device)")
        self.button = QPushButton("Print command")
        self.button.setObjectName("print_command")
        self.button.setToolTip("Show the command line that trains this project the same way, "
                               "here and on several machines")
        self.button.clicked.connect(self.print_command)
        row = QWidget()
        box = QHBoxLayout(row)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.button)
        box.addStretch(1)
        panel.form.addRow("", row)
        self.text = QPlainTextEdit()
        self.text.setObjectName("command_text")
        self.text.setReadOnly(True)
        self.text.setMaximumHeight(self.text.fontMetrics().lineSpacing() * 9)
        self.text.hide()
        panel.form.addRow(self.text)

    def probe(self) -> None:
        """Once torch has loaded: as many processes as GPUs when there are some."""
        import torch

        self.gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
        cpu = max(1, min(MAX_CPU_PROCESSES, os.cpu_count() or 1))
        self.spin.setMaximum(max(self.gpus, cpu, self.spin.value()))
        self.update_visibility()

    def update_visibility(self) -> None:
        self.panel.form.setRowVisible(self.strategy, self.spin.value() > 1)
        gpu = self.panel.training.get("device", "auto") in ("auto", "cuda") and bool(self.gpus)
        self.spin.setSuffix(" GPU(s)" if gpu else " process(es)")
        if self.text.isVisible():
            self.print_command()

    def print_command(self) -> None:
        """The command lines for the project as saved (a run from the GUI trains what is on screen)."""
        document = self.panel.document
        project = document.project if document is not None else None
        path = str(project.path) if project is not None and project.path else "PROJECT.wbproj"
        launch = launch_of(self.panel.training)
        shown = shown_commands(path, launch)
        lines = [f"# this machine, {launch.processes} process(es), {launch.strategy}:", shown["this machine"], "",
                 "# several machines: run this on each (HOST:29500 = the first machine's address and port):",
                 shown["several machines"]]
        if path == "PROJECT.wbproj":
            lines.insert(0, "# save the project first: the command names its file")
        elif document is not None and getattr(document, "is_modified", False):
            lines.insert(0, "# unsaved edits: save first, the command reads the file")
        self.text.setPlainText("\n".join(lines))
        self.text.show()


def install_devices(panel) -> DevicesControl:
    return DevicesControl(panel)
