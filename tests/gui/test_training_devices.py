"""The Devices rows of the Training settings: the process count and strategy reach the
project (and leave it when set back to one process), and Print command shows the exact
torchrun lines for this project, here and on several machines."""

from __future__ import annotations

from tests.gui.test_training_dashboard import moons


def test_devices_and_strategy_reach_the_project_and_print_command_shows_torchrun(make_window, tmp_path):
    window = make_window(moons())
    panel = window.settings_panels.training
    devices = panel.devices
    assert "devices" not in panel.training and not devices.strategy.isVisibleTo(panel)
    devices.spin.setValue(2)
    assert panel.training["devices"] == 2 and devices.strategy.isVisibleTo(panel)
    devices.strategy.setCurrentText("fsdp")
    assert panel.training["strategy"] == "fsdp"
    devices.button.click()
    text = devices.text.toPlainText()
    assert "save the project first" in text
    assert "torchrun --standalone --nproc_per_node=2 -m workbench.cli train PROJECT.wbproj" in text
    assert "--nnodes=2 --nproc_per_node=2 --rdzv-backend=c10d --rdzv-endpoint=HOST:29500" in text
    assert "fsdp" in text
    window.document.undo_stack.undo()
    window.document.undo_stack.undo()
    assert "devices" not in panel.training and "strategy" not in panel.training  # old files stay as they were
