"""Every bundled example either trains offline out of the box on data that ships with it,
or says exactly how to fetch its data set (a new example is covered by being added).

One short epoch each: the real data, the real model, a few optimizer steps (max_steps)
and the validation pass on a subsample (val_fraction at most 1%), so the whole path a
first-time user takes runs here in seconds."""

from __future__ import annotations

import math
import time

import pytest

from workbench.core.project import load_project
from workbench.data.download import download_hint, pending_download
from workbench.data.paths import data_base_dir
from workbench.paths import examples
from workbench.training.session import SetupError, prepare

STEPS = 3


@pytest.mark.parametrize("path", examples(), ids=lambda p: p.stem)
def test_example_trains_offline_or_names_its_download(path, tmp_path):
    project = load_project(path)
    download = pending_download(project.data, data_base_dir(project.path))
    overrides = {"epochs": 1, "max_steps": STEPS, "device": "cpu"}
    if download is not None:
        assert project.data["source"] == "torchvision"
        with pytest.raises(SetupError) as info:
            prepare(project, overrides=overrides, runs_dir=tmp_path)
        assert str(info.value) == download_hint(download.name, download.root)
        assert not list(tmp_path.iterdir())  # no run folder for a run that never started
        return
    project.data["val_fraction"] = min(project.data.get("val_fraction", 0.2), 0.01)
    started = time.perf_counter()
    session = prepare(project, overrides=overrides, runs_dir=tmp_path, num_threads=1)
    result = session.fit()
    assert result.state == "completed", result.message
    assert result.step == min(STEPS, session.trainer.steps_per_epoch)
    losses = [v for k, v in result.metrics.items() if k.endswith("loss")]
    assert losses and all(math.isfinite(v) for v in losses), result.metrics
    assert time.perf_counter() - started < 120
