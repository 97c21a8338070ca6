"""A data set that needs a download says so in the template gallery and the Data dock, and
the dock fetches it in one click (from a local mirror here), with progress and errors."""

from __future__ import annotations

import pytest

from tests.data.test_download import mirror, mnist_project  # noqa: F401 - the local MNIST mirror fixture
from tests.gui.test_settings_panels import checked, panels
from workbench.ui.templates import TemplateGallery, bundled_templates


def test_the_gallery_says_which_examples_need_a_download(qtbot):
    notes = {t.path.stem: t.download for t in bundled_templates() if t.path is not None}
    assert notes["cifar_resnet_block"] == notes["transfer_resnet18"] == "needs a download (170 MB)"
    assert notes["mnist_cnn"] == notes["digits_cnn"] == notes["gpt_char"] == ""
    gallery = TemplateGallery()
    qtbot.addWidget(gallery)
    texts = [gallery.list.item(i).text() for i in range(gallery.list.count())]
    assert any(t.startswith("cifar-resnet-block — needs a download (170 MB)\n") for t in texts)
    assert any(t.startswith("mnist-cnn\n") for t in texts)


def wait_done(qtbot, row):
    row.wait(30)
    qtbot.waitUntil(lambda: not row.running and row._thread is None, timeout=10000)


def test_download_in_the_data_dock_then_the_data_fits(qtbot, make_window, tmp_path, mirror):  # noqa: F811
    window = make_window(mnist_project(tmp_path))
    _, data = panels(window)
    row = data.download_row
    assert row.isVisibleTo(window) and row.button.text() == "Download"
    assert row.label.text().startswith(f"<b>MNIST needs a download (12 MB)</b> into {tmp_path / 'sets'}")
    messages = checked(qtbot, data)
    assert messages == [f"MNIST not found in {tmp_path / 'sets'}; run `workbench train --download PROJECT` "
                        "or press Download in the Data dock"]
    with qtbot.waitSignal(data.checked, timeout=30000) as blocker:  # the dock checks again once the files are in
        row.button.click()
        assert row.bar.isVisibleTo(window) and row.cancel_button.isVisibleTo(window)
        assert not row.button.isVisibleTo(window)
    assert blocker.args[0] == []
    assert not row.isVisibleTo(window) and row.pending is None
    assert (tmp_path / "sets" / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file()
    assert data.status.text() == "✓ the data fits the graph"


def test_a_failed_download_stays_in_the_row_with_try_again(qtbot, make_window, tmp_path, mirror):  # noqa: F811
    (mirror / "train-labels-idx1-ubyte.gz").unlink()
    window = make_window(mnist_project(tmp_path))
    _, data = panels(window)
    row = data.download_row
    row.button.click()
    wait_done(qtbot, row)
    assert row.isVisibleTo(window) and row.error.isVisibleTo(window)
    assert row.error.text().startswith(f"could not download MNIST to {tmp_path / 'sets'}: ")
    assert "train-labels-idx1-ubyte.gz" in row.error.text()
    assert row.button.text() == "Try again" and row.button.isEnabled() and not row.bar.isVisibleTo(window)
    assert not list((tmp_path / "sets").rglob("*.part"))


@pytest.mark.parametrize("source", ["digits", "mnist_sample", "synthetic"])
def test_no_download_row_for_data_that_ships_with_the_app(qtbot, make_window, source):
    window = make_window()
    _, data = panels(window)
    data.document.project.data = {"source": source, "params": {"kind": "moons"} if source == "synthetic" else {}}
    data.refresh()
    assert not data.download_row.isVisibleTo(window)
