"""The Try-it dock on real runs: a digit drawn with the mouse, an image file dropped, a sentence
typed, a table row filled in, an ONNX export checked against PyTorch, and the dock's own
words when there is nothing to try (no run, a broken graph, a file that is not an image)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QGuiApplication, QImage
from PySide6.QtTest import QTest

from tests.training.run_projects import train_run
from workbench.core.project import load_project, save_project
from workbench.paths import DEFAULT_EXAMPLE

EXAMPLES = Path(DEFAULT_EXAMPLE).parent
WAIT = 60_000  # ms: opening the model imports torch and builds it (slow on a loaded 2-core machine)


def _trained(tmp: Path, example: str, data: dict | None = None) -> tuple[Path, Path]:
    """(project file, runs folder) after 1 epoch of `example` on CPU."""
    project = load_project(EXAMPLES / f"{example}.wbproj")
    if data is not None:
        project.data = data
    project.training["device"] = "cpu"
    project.path = save_project(project, tmp / f"{example}.wbproj")
    train_run(project, tmp / "runs", epochs=1)
    return project.path, tmp / "runs"


@pytest.fixture(scope="module")
def digits(tmp_path_factory) -> tuple[Path, Path]:
    return _trained(tmp_path_factory.mktemp("digits"), "digits_cnn")


@pytest.fixture(scope="module")
def reviews(tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("reviews")
    rng = random.Random(0)
    good, bad = ["good", "great", "lovely", "superb"], ["bad", "awful", "dull", "boring"]
    lines = ["text,label"]
    for i in range(200):
        words = [rng.choice(good if i % 2 else bad) for _ in range(4)]
        lines.append(f"{' '.join(words)} film,{'pos' if i % 2 else '<b>neg</b>'}")  # a label that looks like HTML
    (tmp / "reviews.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = {"source": "text_csv", "params": {"path": "reviews.csv"}, "val_fraction": 0.2, "augment": []}
    return _trained(tmp, "lstm_text_classifier", data)


@pytest.fixture(scope="module")
def moons(tmp_path_factory) -> tuple[Path, Path]:
    return _trained(tmp_path_factory.mktemp("moons"), "tabular_mlp")


def _panel(make_window, monkeypatch, trained):
    project_file, runs = trained
    monkeypatch.setenv("WORKBENCH_RUNS_DIR", str(runs))
    window = make_window(project_file)
    dock = window.docks["try_it"]
    dock.show()
    dock.raise_()
    panel = dock.widget()
    return window, panel


def _opened(qtbot, panel):
    qtbot.waitUntil(lambda: panel.profile is not None and not panel.busy(), timeout=WAIT)
    return panel.profile


def _answer(qtbot, panel, before: int = 0):
    qtbot.waitUntil(lambda: not panel.busy() and panel.results.predictions and panel.outcome is not None
                    and id(panel.outcome) != before, timeout=WAIT)
    return panel.results.current()


def _draw_one(qtbot, pad) -> None:
    """A vertical stroke down the middle of the pad, pressed, moved and released as a hand would."""
    side = min(pad.width(), pad.height())
    x = pad.width() // 2
    top, bottom = pad.height() // 2 - side * 3 // 8, pad.height() // 2 + side * 3 // 8
    QTest.mousePress(pad, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(x, top))
    for i in range(1, 9):
        QTest.mouseMove(pad, QPoint(x, top + (bottom - top) * i // 8))
    QTest.mouseRelease(pad, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(x, bottom))


def test_a_digit_drawn_on_the_pad_gets_ten_class_probabilities(make_window, monkeypatch, qtbot, digits, dialogs):
    window, panel = _panel(make_window, monkeypatch, digits)
    assert not panel.message.isVisible()
    assert panel.weights.count() >= 1 and "best" in panel.weights.itemText(0)
    profile = _opened(qtbot, panel)
    assert profile.modality == "image" and profile.input_shape == (1, 8, 8)
    image = panel.pages["image"]
    assert panel.page() is image and image.pad.isVisible()
    _draw_one(qtbot, image.pad)
    ink = image.pad.array()
    assert ink[:, ink.shape[1] // 2].max() == 255 and ink[:, :20].max() == 0  # white stroke, black elsewhere
    p = _answer(qtbot, panel)
    assert p.source == "drawing" and p.kind == "classes"
    assert sorted(name for name, _ in p.top) == [str(d) for d in range(10)]
    assert sum(prob for _, prob in p.top) == pytest.approx(1.0, abs=1e-6)
    assert panel.results.bars is not None and "drawing:" in panel.results.headline.text()
    assert "best epoch (1)" in panel.results.weights.text()
    # the model's-eye view is the 8x8 tensor the network got: the stroke is there, in its middle columns
    assert image.view.shape == (1, 8, 8)
    seen = p.model_input.numpy()[0]
    assert seen[:, 3:5].mean() > seen[:, :2].mean()
    # saliency on demand: a heat map over the view
    image.saliency.setChecked(True)
    qtbot.waitUntil(lambda: image.view.has_heat() and not panel.busy(), timeout=WAIT)
    image.saliency.setChecked(False)
    assert not image.view.has_heat()
    # Clear empties the pad
    image.clear_button.click()
    assert image.pad.is_empty() and image.pad.array().max() == 0
    assert dialogs.errors == [] and dialogs.infos == []


def test_a_dropped_image_file_is_predicted_and_a_bad_one_is_said_in_the_dock(make_window, monkeypatch, qtbot,
                                                                           digits, tmp_path, dialogs):
    from PIL import Image

    data = np.load(EXAMPLES.parent / "datasets" / "digits.npz")
    picture = tmp_path / "seven.png"
    Image.fromarray((data["images"][7].astype(np.float64) * 255 / 16).astype(np.uint8)).resize((64, 64)).save(picture)
    window, panel = _panel(make_window, monkeypatch, digits)
    _opened(qtbot, panel)
    image = panel.pages["image"]
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(picture))])
    drop = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    image.dropEvent(drop)
    assert drop.isAccepted()
    p = _answer(qtbot, panel)
    assert p.source == "seven.png" and len(p.top) == 10
    assert image.view.shape == (1, 8, 8)
    # two files at once: a chooser, and the model's-eye view follows the answer shown
    zero = tmp_path / "zero.png"
    Image.fromarray((data["images"][0].astype(np.float64) * 255 / 16).astype(np.uint8)).save(zero)
    before = id(panel.outcome)
    image.open_files([str(picture), str(zero)])
    _answer(qtbot, panel, before)
    results = panel.results
    assert results.chooser.isVisible() and [results.chooser.itemText(i) for i in range(2)] == ["seven.png", "zero.png"]
    shown = image.view.grab().toImage()
    results.chooser.setCurrentIndex(1)
    assert results.current().source == "zero.png" and image.view.grab().toImage() != shown
    # the same picture from the clipboard reaches the model as the file did
    from_file = results.predictions[1].model_input.numpy()
    QGuiApplication.clipboard().setImage(QImage(str(zero)))
    before = id(panel.outcome)
    image.paste_button.click()
    pasted = _answer(qtbot, panel, before)
    assert pasted.source == "clipboard"
    np.testing.assert_allclose(pasted.model_input.numpy(), from_file, atol=1e-6)
    # a file that is not a picture: one line in the dock naming it, no dialog, the last answer kept
    junk = tmp_path / "notes.png"
    junk.write_text("not a picture", encoding="utf-8")
    image.open_files([str(junk)])
    qtbot.waitUntil(lambda: not panel.busy() and "notes.png" in panel.status.text(), timeout=WAIT)
    assert "not an image" in panel.status.text()
    assert panel.results.current().source == "clipboard"
    assert dialogs.errors == []


def test_a_typed_sentence_gets_the_text_classifier_classes(make_window, monkeypatch, qtbot, reviews):
    window, panel = _panel(make_window, monkeypatch, reviews)
    profile = _opened(qtbot, panel)
    assert profile.modality == "text" and profile.classes == ["<b>neg</b>", "pos"]
    text = panel.pages["text"]
    assert panel.page() is text and not text.decode_row.isVisible()
    qtbot.keyClicks(text.box, "a superb lovely film")
    text.predict_button.click()
    p = _answer(qtbot, panel)
    assert p.source == "text" and {name for name, _ in p.top} == {"<b>neg</b>", "pos"}
    assert sum(prob for _, prob in p.top) == pytest.approx(1.0, abs=1e-6)
    headline = panel.results.headline
    assert headline.textFormat() == Qt.TextFormat.PlainText and p.top[0][0] in headline.text()  # shown as written


def test_the_tabular_form_comes_from_the_training_columns_and_predicts(make_window, monkeypatch, qtbot, moons):
    window, panel = _panel(make_window, monkeypatch, moons)
    profile = _opened(qtbot, panel)
    form = panel.pages["tabular"]
    assert panel.page() is form
    assert list(form.fields) == [name for name, _, _ in profile.columns] == ["features_0", "features_1"]
    low, high = profile.columns[0][1:]
    assert f"{low:.4g}" in form.fields["features_0"].toolTip() and f"{high:.4g}" in form.fields["features_0"].toolTip()
    form.fields["features_0"].setValue(-1.0)
    form.fields["features_1"].setValue(0.25)
    form.predict_button.click()
    p = _answer(qtbot, panel)
    assert p.source == "row 1" and {name for name, _ in p.top} == {"upper moon", "lower moon"}
    assert p.model_input.shape == (2,)


def test_an_exported_file_is_opened_as_the_format_its_name_says():
    from workbench.ui.try_it.artifact_picker import artifact_kind

    assert [artifact_kind(n) for n in ("m.onnx", "M.ONNX", "m.pt2", "m.torchscript", "m.pt")] == [
        "onnx", "onnx", "pt2", "torchscript", "torchscript"]


def test_a_project_without_runs_says_so_and_a_broken_graph_says_why(make_window, monkeypatch, qtbot, tmp_path):
    monkeypatch.setenv("WORKBENCH_RUNS_DIR", str(tmp_path / "no-runs"))
    window = make_window(EXAMPLES / "digits_cnn.wbproj")
    panel = window.docks["try_it"].widget()
    window.docks["try_it"].show()
    window.docks["try_it"].raise_()
    assert panel.message.isVisible() and "Train the model first" in panel.message.text()
    assert not panel.stack.isEnabled() and panel.weights.count() == 0
    assert panel.ask("predict_text", ("x",), {}) is False and not panel.busy()
    # a graph with an error is named before any run is looked for
    fc = next(node for node in window.document.graph if node.type == "Linear")
    window.document.graph.disconnect(window.document.graph.in_edges(fc.id)[0])
    window.document.flush()
    panel.refresh()
    assert "Fix the graph first" in panel.message.text()


def test_an_onnx_export_chosen_as_the_artifact_matches_pytorch(make_window, monkeypatch, qtbot, digits, tmp_path,
                                                              dialogs):
    from workbench.export import export

    project_file, runs = digits
    run = next(p for p in (runs).glob("*/*") if (p / "best.pt").is_file())
    onnx = tmp_path / "digits.onnx"
    export(load_project(project_file), "onnx", onnx, weights=run)
    window, panel = _panel(make_window, monkeypatch, digits)
    _opened(qtbot, panel)
    junk = tmp_path / "junk.onnx"  # not an ONNX file: said in the dock, naming it
    junk.write_bytes(b"\x08\x07garbage")
    panel.artifact.set_path(str(junk))
    qtbot.waitUntil(lambda: not panel.busy() and "junk.onnx" in panel.status.text(), timeout=WAIT)
    assert dialogs.errors == []
    dialogs.open_path = str(onnx)
    window.findChild(type(panel.artifact.clear), "try_it_choose_artifact").click()
    assert panel.artifact.path == str(onnx) and panel.artifact.label.text() == "digits.onnx"
    _opened(qtbot, panel)
    assert "onnxruntime" in panel.profile.artifact
    _draw_one(qtbot, panel.pages["image"].pad)
    _answer(qtbot, panel)
    words = panel.results.artifact.text()
    assert "digits.onnx" in words and "matches PyTorch" in words and "same top-1" in words
    assert panel.outcome.agrees is True
    # closing the window mid-answer waits for the thread instead of leaving it running
    panel.pages["image"].open_files([str(onnx.parent / "missing.png")])
    assert panel.busy()
    window.close()
    assert panel.thread is None or panel.thread.isFinished()


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> tuple[Path, Path]:
    data = {"source": "synthetic", "params": {"kind": "waveforms", "n": 160}, "val_fraction": 0.2, "augment": []}
    return _trained(tmp_path_factory.mktemp("speech"), "speech_mel_cnn", data)


def test_an_audio_file_shows_its_waveform_and_the_graphs_mel_spectrogram(make_window, monkeypatch, qtbot, speech,
                                                                        tmp_path):
    import wave

    clip = tmp_path / "tone.wav"
    t = np.arange(8000) / 8000  # 1 s at 8 kHz: the dock resamples it to the model's 16 kHz
    with wave.open(str(clip), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes((np.sin(2 * np.pi * 440 * t) * 20000).astype("<i2").tobytes())
    window, panel = _panel(make_window, monkeypatch, speech)
    profile = _opened(qtbot, panel)
    audio = panel.pages["audio"]
    assert profile.modality == "audio" and panel.page() is audio
    audio.open_file(str(clip))
    p = _answer(qtbot, panel)
    assert p.source == "tone.wav" and p.kind == "classes" and p.model_input.shape == (1, 16000)
    x, y = audio.wave_curve.getData()
    assert len(y) == 16000 and np.abs(y).max() > 0.1
    spectrogram = panel.outcome.spectrogram
    assert spectrogram.shape == (64, 101) and audio.spectrogram.isVisible()  # the graph's n_mels, 1 + 16000 // 160
    assert int(np.argmax(spectrogram.mean(axis=1))) < 16  # 440 Hz sits in the low mel bands


@pytest.fixture(scope="module")
def reverse(tmp_path_factory) -> tuple[Path, Path]:
    data = {"source": "synthetic", "params": {"kind": "reverse", "vocab": 20, "n": 200}, "val_fraction": 0.2,
            "augment": []}
    return _trained(tmp_path_factory.mktemp("reverse"), "seq2seq_transformer", data)


def test_seq2seq_decodes_with_the_chosen_search_and_length(make_window, monkeypatch, qtbot, reverse):
    from workbench.inference.predict import Predictor

    window, panel = _panel(make_window, monkeypatch, reverse)
    profile = _opened(qtbot, panel)
    text = panel.pages["text"]
    assert profile.modality == "seq2seq" and panel.page() is text and text.decode_row.isVisible()
    assert "Token ids" in text.box.placeholderText()
    text.box.setPlainText("5 6 7")
    text.decoding.setCurrentIndex(text.decoding.findData(4))
    text.max_len.setValue(3)
    text.predict_button.click()
    p = _answer(qtbot, panel)
    project_file, runs = reverse
    run = next(r for r in runs.glob("*/*") if (r / "best.pt").is_file())
    expected = Predictor.open(load_project(project_file), run).decode("5 6 7", beam=4, max_len=3)
    assert p.kind == "sequence" and p.text == expected.text and len(p.values) <= 3
    assert panel.results.text.isVisible()
    assert panel.results.text.toPlainText() == p.text or not p.text and "nothing" in panel.results.text.toPlainText()


def test_weights_from_before_an_edit_are_refused_in_the_dock(make_window, monkeypatch, qtbot, digits, dialogs):
    window, panel = _panel(make_window, monkeypatch, digits)
    _opened(qtbot, panel)
    graph = window.document.graph
    fc = next(node for node in graph if node.type == "Linear")
    graph.set_params(fc.id, {**fc.params, "out_features": 7})  # the run's head has 10 outputs
    window.document.flush()
    _draw_one(qtbot, panel.pages["image"].pad)
    qtbot.waitUntil(lambda: not panel.busy() and panel.status.text() not in ("", "predicting…"), timeout=WAIT)
    assert "best.pt" in panel.status.text() and panel.status.styleSheet()  # the file named, in the error colour
    assert dialogs.errors == []
