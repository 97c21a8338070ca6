"""Data paths are explicit: relative to the project file's folder (never the process cwd),
shown resolved, and a download writes only under the resolved root."""

from __future__ import annotations

import os
import re

import pytest

from tests.data.makers import fake_mnist, png_folder, wav_folder, write_csv
from workbench.cli import main
from workbench.core.project import load_project, project_from_dict, save_project
from workbench.core.tensors import TensorInfo
from workbench.data import DataError, describe_paths, load_data
from workbench.data.paths import data_base_dir, default_datasets_root, resolve_data_path
from workbench.paths import EXAMPLES
from tests.gui.conftest import dialogs, make_window, runs_dir  # noqa: F401 - the GUI fixtures, for the dock test

ROWS = [[i % 3, (i * 7) % 5, "ab"[i % 2]] for i in range(20)]
VECTOR = {"features": TensorInfo((2,))}


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """The process runs in another folder, holding decoys with the same relative names."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    write_csv(cwd / "table.csv", ["x", "y", "label"], [[0, 0, "decoy"]] * 3)
    monkeypatch.chdir(cwd)
    return cwd


def tabular_project(folder, path="table.csv"):
    project = load_project(EXAMPLES / "tabular_mlp.wbproj")
    project.data = {"source": "csv", "params": {"path": path, "target": "label"}, "val_fraction": 0.25}
    project.training["epochs"] = 1
    folder.mkdir(parents=True, exist_ok=True)
    return save_project(project, folder / "tabular.wbproj")


def test_relative_paths_start_at_the_project_folder_not_the_cwd(tmp_path, elsewhere, capsys):
    folder = tmp_path / "project"
    folder.mkdir()
    table = write_csv(folder / "table.csv", ["x", "y", "label"], ROWS)
    path = tabular_project(folder)
    assert main(["train", str(path), "--runs-dir", str(tmp_path / "runs")]) == 0
    out = capsys.readouterr().out
    assert f"reading data.params.path: {table}" in out and str(elsewhere) not in out
    from workbench.training.session import prepare

    session = prepare(load_project(path), write_run=False)
    assert session.trainer.bundle.classes == ["a", "b"]  # not the cwd's decoy
    assert session.trainer.bundle.extra["paths"] == {"data.params.path": str(table)}


def test_an_unsaved_project_resolves_against_the_cwd(elsewhere):
    assert data_base_dir(None) == elsewhere
    from workbench.training.session import prepare

    project = project_from_dict(load_project(EXAMPLES / "tabular_mlp.wbproj").to_dict())
    project.path = None
    project.data = {"source": "csv", "params": {"path": "table.csv", "target": "label"}, "val_fraction": 0.0}
    with pytest.raises(Exception, match="single class"):  # it read the cwd's one-class decoy
        prepare(project, write_run=False)


@pytest.mark.parametrize("source, params, inputs, fields", [
    ("csv", {"path": "sub/../t.csv", "target": "label"}, VECTOR, {"path": "t.csv"}),
    ("text_csv", {"path": "./t.csv", "text": "label", "label": "label"}, {"t": TensorInfo((4,), "int64")},
     {"path": "t.csv"}),
    ("image_folder", {"path": "img", "val_path": "img/../img"}, {"i": TensorInfo((3, 8, 8))},
     {"path": "img", "val_path": "img"}),
    ("audio_folder", {"path": "wav", "sample_rate": 8000}, {"w": TensorInfo((1, 400))}, {"path": "wav"}),
    ("torchvision", {"name": "MNIST", "root": "mn"}, {"i": TensorInfo((1, 28, 28))}, {"root": "mn"}),
])
def test_every_path_field_is_resolved_and_reported(tmp_path, elsewhere, source, params, inputs, fields):
    base = tmp_path / "project"
    (base / "sub").mkdir(parents=True)
    write_csv(base / "t.csv", ["x", "y", "label"], ROWS)
    png_folder(base / "img", size=(8, 8))
    wav_folder(base / "wav")
    fake_mnist(base / "mn")
    bundle = load_data({"source": source, "params": params, "val_fraction": 0.25}, inputs, 0, base)
    expected = {f"data.params.{name}": str(base / rel) for name, rel in fields.items()}
    assert bundle.extra["paths"] == expected
    assert describe_paths(bundle) == [f"{name}: {path}" for name, path in expected.items()]


def test_links_and_home_are_shown_as_what_they_really_name(tmp_path, monkeypatch):
    (tmp_path / "secret").mkdir()
    real = write_csv(tmp_path / "secret" / "real.csv", ["x", "y", "label"], ROWS)
    base = tmp_path / "project"
    base.mkdir()
    (base / "innocent.csv").symlink_to(real)
    bundle = load_data({"source": "csv", "params": {"path": "innocent.csv", "target": "label"}}, VECTOR, 0, base)
    assert describe_paths(bundle) == [f"data.params.path: {real}"]
    monkeypatch.setenv("HOME", str(tmp_path / "secret"))
    assert resolve_data_path("~/real.csv", base) == real


@pytest.mark.parametrize("value, words", [("a\x00b", "NUL"), ("   ", "an empty path"), ("", "non-empty")])
def test_unusable_path_strings_are_a_message(tmp_path, value, words):
    with pytest.raises(DataError, match=f"data.params.path .*{words}"):
        load_data({"source": "csv", "params": {"path": value, "target": "y"}}, VECTOR, 0, tmp_path)


def test_a_device_or_folder_is_not_read_as_a_csv(tmp_path):
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(DataError, match="which is not a regular file"):
        load_data({"source": "csv", "params": {"path": "folder.csv", "target": "y"}}, VECTOR, 0, tmp_path)
    if os.path.exists("/dev/zero"):
        with pytest.raises(DataError, match="/dev/zero, which is not a regular file"):
            load_data({"source": "text_csv", "params": {"path": "/dev/zero"}}, {}, 0, tmp_path)


class Recorder:
    """Stands in for a torchvision / torchaudio dataset class: records where it was asked to
    read or download, and raises as the real one does when the files are missing."""

    calls: list = []

    def __init__(self, root, train=True, download=False, subset=None, **_):
        Recorder.calls.append((root, download))
        raise RuntimeError("Dataset not found")


@pytest.fixture
def recorder(monkeypatch):
    import torchaudio.datasets
    import torchvision.datasets

    Recorder.calls = []
    monkeypatch.setattr(torchvision.datasets, "MNIST", Recorder)
    monkeypatch.setattr(torchvision.datasets, "CIFAR10", Recorder)
    monkeypatch.setattr(torchaudio.datasets, "SPEECHCOMMANDS", Recorder)
    return Recorder.calls


@pytest.mark.parametrize("source, params", [("torchvision", {"name": "MNIST"}), ("torchvision", {"name": "CIFAR10"}),
                                            ("speechcommands", {})])
def test_a_download_gets_the_resolved_root(tmp_path, elsewhere, recorder, source, params):
    base = tmp_path / "project"
    base.mkdir()
    (tmp_path / "real-data").mkdir()
    (base / "data").symlink_to(tmp_path / "real-data")  # the root itself may be a link: shown resolved
    with pytest.raises(DataError, match=f"could not download .* to {tmp_path / 'real-data'}: "):
        load_data({"source": source, "params": {**params, "root": "data", "download": True}}, {}, 0, base)
    assert recorder == [(str(tmp_path / "real-data"), True)]
    assert not (elsewhere / "data").exists()


@pytest.mark.parametrize("source, params, inside", [
    ("torchvision", {"name": "MNIST"}, "MNIST"),
    ("torchvision", {"name": "MNIST"}, "MNIST/raw"),
    ("torchvision", {"name": "CIFAR10"}, "cifar-10-batches-py"),
    ("torchvision", {"name": "CIFAR10"}, "cifar-10-python.tar.gz"),
    ("speechcommands", {}, "SpeechCommands"),
    ("speechcommands", {}, "speech_commands_v0.02.tar.gz"),
])
def test_a_link_inside_the_root_cannot_carry_a_download_elsewhere(tmp_path, recorder, source, params, inside):
    root = tmp_path / "project" / "data"
    outside = tmp_path / "outside"
    outside.mkdir()
    link = root / inside
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(outside)
    section = {"source": source, "params": {**params, "root": "data", "download": True}}
    with pytest.raises(DataError, match=f"data.params.root: {link} is a symbolic link .*writes only under {root}"):
        load_data(section, {}, 0, tmp_path / "project")
    assert recorder == [] and list(outside.iterdir()) == []
    section["params"]["download"] = False  # reading through a link is fine: nothing is written
    with pytest.raises(DataError, match="not found (in|under)"):
        load_data(section, {}, 0, tmp_path / "project")


@pytest.mark.parametrize("download", [True, False])
@pytest.mark.parametrize("source, params", [("torchvision", {"name": "MNIST"}), ("speechcommands", {})])
def test_a_root_that_is_a_file_is_refused(tmp_path, recorder, source, params, download):
    (tmp_path / "notes.txt").write_text("not a folder")
    (tmp_path / "data").symlink_to(tmp_path / "notes.txt")
    with pytest.raises(DataError, match=f"data.params.root names {tmp_path / 'notes.txt'}, which is not a folder"):
        load_data({"source": source, "params": {**params, "root": "data", "download": download}}, {}, 0, tmp_path)
    assert recorder == []


def test_the_examples_still_load_from_their_own_folder(tmp_path, monkeypatch):
    """The bundled examples' data sections: torchvision ones name no root, so they read the
    per-user datasets folder (never the cwd, never the installation) and fetch nothing
    without download."""
    monkeypatch.chdir(tmp_path)
    for path in sorted(EXAMPLES.glob("*.wbproj")):
        project = load_project(path)
        if project.data["source"] != "torchvision":
            continue
        with pytest.raises(DataError, match=f"not found in {default_datasets_root()}; run `workbench train --download"):
            load_data(project.data, {}, 0, data_base_dir(path))
    assert list(tmp_path.iterdir()) == []


def test_the_data_check_and_dock_show_the_resolved_paths(qtbot, tmp_path, make_window, monkeypatch):
    from tests.gui.test_settings_panels import checked, panels

    base = tmp_path / "project"
    base.mkdir()
    table = write_csv(base / "t.csv", ["x", "y", "label"], ROWS)
    window = make_window(tabular_project(base, "t.csv"))
    _, data = panels(window)
    assert checked(qtbot, data) == []
    assert data.paths_note.text() == f"Reads data.params.path: {table}"
    assert not data.download_note.isVisibleTo(window)
    params = {"name": "MNIST", "root": "../sets", "download": True}
    data.document.project.data = {"source": "torchvision", "params": params}
    data.refresh()
    expected = f"Training downloads the files if missing, writing only under {tmp_path / 'sets'}"
    assert data.download_note.text() == expected
    data.document.project.path = None  # unsaved: the same relative root now starts at the cwd
    data.document.project.data["params"]["download"] = False
    (tmp_path / "project" / "run").mkdir()
    monkeypatch.chdir(tmp_path / "project" / "run")
    data.refresh()
    assert data.download_note.text() == (f"Reads the files from {tmp_path / 'project' / 'sets'} (the project is "
                                         f"not saved, so relative paths start from the current folder); nothing "
                                         f"is downloaded")


@pytest.mark.parametrize("value, words", [
    ("a" * 5000, "names a path that is unusable (File name too long)"),
    ("x/" * 3000, "names a path that is unusable (File name too long)"),
    ("~no-such-user-here/t.csv", "is not a usable path (no home folder for ~no-such-user-here)"),
])
def test_paths_the_system_cannot_look_up_are_a_message(tmp_path, value, words):
    section = {"source": "csv", "params": {"path": value, "target": "y"}}
    with pytest.raises(DataError, match=re.escape(f"data.params.path {words}")):
        load_data(section, VECTOR, 0, tmp_path)
    torchvision = {"source": "torchvision", "params": {"name": "MNIST", "root": value, "download": True}}
    with pytest.raises(DataError, match=re.escape(f"data.params.root {words}")):
        load_data(torchvision, {}, 0, tmp_path)
