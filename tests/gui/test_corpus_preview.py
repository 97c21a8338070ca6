"""A text corpus in the Data dock (its lines, tokens and vocabulary) and sizes taken from
the data in the inspector and on the canvas."""

from __future__ import annotations

import json

from PySide6.QtWidgets import QLabel

from tests.gui.conftest import settle
from tests.gui.test_settings_panels import checked, panels, use_source
from workbench.ui.settings_panels.preview import TOKEN_COLOURS

TEXT = "".join(f"Verse {i}: In the beginning was the word, and the word was with light.\n" for i in range(200))
CHINESE = "".join(chr(0x4E00 + (i * 7919) % 3000) for i in range(9000)) + "\n"
VOCAB = {"from_data": "vocab_size"}


def lm_project(tmp_path, rows=VOCAB, **params) -> str:
    (tmp_path / "corpus.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "chinese.txt").write_text(CHINESE, encoding="utf-8")
    nodes = [{"id": "input", "type": "Input", "params": {"shape": [32], "dtype": "int64"}, "pos": [0, 0]},
             {"id": "emb", "type": "Embedding", "params": {"num_embeddings": rows, "embedding_dim": 8}, "pos": [0, 120]},
             {"id": "head", "type": "Linear", "params": {"out_features": VOCAB}, "pos": [0, 240]},
             {"id": "out", "type": "Output", "params": {}, "pos": [0, 360]}]
    edges = [{"source": a, "target": b} for a, b in (("input", "emb"), ("emb", "head"), ("head", "out"))]
    doc = {"format": "model-workbench-project", "version": 1, "name": "lm", "graph": {"nodes": nodes, "edges": edges},
           "data": {"source": "text_corpus", "params": {"path": "corpus.txt", **params}, "val_fraction": 0.1},
           "training": {"epochs": 1, "batch_size": 8, "optimizer": {"type": "Adam", "lr": 0.01},
                        "loss": {"type": "CrossEntropyLoss"}, "device": "cpu", "seed": 0}}
    path = tmp_path / "lm.wbproj"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


def test_the_preview_shows_lines_counts_and_token_boundaries(qtbot, make_window, tmp_path):
    window = make_window(lm_project(tmp_path, tokenizer="bpe", vocab_size=300))
    _, data = panels(window)
    assert checked(qtbot, data) == []
    preview = data.preview
    lines = [text for kind, text in preview.samples if kind == "corpus"]
    assert lines[:2] == ["Verse 0: In the beginning was the word, and the word was with light.",
                         "Verse 1: In the beginning was the word, and the word was with light."]
    tokenizer = data.bundle.extra["tokenizer"]
    assert f"vocabulary {tokenizer.vocab_size:,} (bpe)" in preview.note.text() and " tokens (" in preview.note.text()
    assert "".join(preview.token_pieces) == lines[0] and 1 < len(preview.token_pieces) < len(lines[0])
    shown = next(w for w in preview.grid_box.findChildren(QLabel) if w.objectName() == "corpus_tokens")
    assert shown.text().count(TOKEN_COLOURS[0]) == (len(preview.token_pieces) + 1) // 2
    assert shown.text().count(TOKEN_COLOURS[1]) == len(preview.token_pieces) // 2

    use_source(qtbot, data, "text_corpus", vocab_size=50_000)  # more than the text holds: a warning, no failure
    warnings = [w.text() for w in data.preview.grid_box.findChildren(QLabel) if w.text().startswith("⚠")]
    assert any("too little text for 50000 BPE tokens" in w for w in warnings)


def test_sizes_from_the_data_follow_the_corpus_into_the_inspector(qtbot, make_window, tmp_path):
    window = make_window(lm_project(tmp_path))
    settle(window)
    english = len(set(TEXT[:round(len(TEXT) * 0.9)])) + 4
    assert window.document.result.resolved["emb"]["num_embeddings"] == english
    window.scene.select_nodes(["emb"])
    row = window.inspector.rows["num_embeddings"]
    assert row.editor.spin.value() == english and not row.editor.isEnabled()
    assert "From the data: vocab_size" in row.editor.toolTip()
    assert window.scene.nodes["head"].shape_text == f"[N, 32, {english}]"

    _, data = panels(window)
    use_source(qtbot, data, "text_corpus", path="chinese.txt")  # a data edit, no graph edit
    settle(window)
    chinese = len(set(CHINESE[:round(len(CHINESE) * 0.9)])) + 4
    assert chinese > 2000 and window.document.result.resolved["emb"]["num_embeddings"] == chinese
    assert row.editor.spin.value() == chinese
    assert window.document.graph.node("emb").params["num_embeddings"] == VOCAB  # the project keeps the form


def test_an_embedding_smaller_than_the_vocabulary_is_named_by_the_check(qtbot, make_window, tmp_path):
    window = make_window(lm_project(tmp_path, rows=10))
    _, data = panels(window)
    messages = checked(qtbot, data)
    assert any(m.startswith("emb: num_embeddings:") and "Embedding has 10 rows" in m for m in messages), messages
