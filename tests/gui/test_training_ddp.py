"""Several processes from the GUI: a project with training.devices = 2 trains under torchrun
(two CPU processes, gloo) from the Training dock and ends with the metrics one process
reaches on the same global batches; the status line shows each rank's memory."""

from __future__ import annotations

import pytest

from tests.gui.test_training_dashboard import click, dashboard_of, moons
from workbench.core.project import project_from_dict


@pytest.mark.slow
def test_two_processes_from_the_dock_match_one_process_on_the_same_global_batches(qtbot, make_window, tmp_path):
    from workbench.training.session import prepare

    two = moons(epochs=2, batch_size=8)
    two["training"]["devices"] = 2  # 8 per process: 16 samples per step, as below
    window = make_window(two)
    dash = dashboard_of(window)
    click(dash.train_button)
    assert dash.run.command[1:5] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    qtbot.waitUntil(lambda: dash.world_size == 2, timeout=120000)
    assert not dash.pause_button.isEnabled()  # ranks agree on a stop only at an epoch's end
    qtbot.waitUntil(lambda: not dash.active, timeout=120000)
    assert dash.state == "completed", dash.message.text()
    assert dash.run_dir is not None and dash.table.rowCount() == 2
    assert "rank 0" in dash.status_line.text() and "rank 1" in dash.status_line.text(), dash.status_line.text()

    one = moons(epochs=2, batch_size=16)
    result = prepare(project_from_dict(one), runs_dir=tmp_path, overrides={"tensorboard": False}).fit()
    assert result.state == "completed", result.message
    gui = dash.last_epoch
    for key in ("train_loss", "val_loss", "val_accuracy"):
        assert gui[key] == pytest.approx(result.metrics[key], rel=1e-3, abs=1e-4), key
