"""Sizes from the data: {"from_data": "vocab_size"} in a node's params, resolved into a
copy of the graph for inference, compile, training and export."""

from __future__ import annotations

import json

import pytest

from workbench.cli import main
from workbench.core.from_data import data_params, resolve_from_data
from workbench.core.graph import Graph
from workbench.core.params import INT, Param
from workbench.core.project import load_project, project_from_dict
from workbench.core.shapes import infer_shapes
from workbench.data.facts import data_facts, project_graph
from workbench.data.tokenizer import TextTokenizer, tokenizer_for_run
from workbench.export.model import build_model

VOCAB = {"from_data": "vocab_size"}


def lm_graph(rows=VOCAB, width=VOCAB, length=16) -> Graph:
    graph = Graph()
    graph.add_node("input", "Input", {"shape": [length], "dtype": "int64"})
    graph.add_node("emb", "Embedding", {"num_embeddings": rows, "embedding_dim": 8})
    graph.add_node("head", "Linear", {"out_features": width})
    graph.add_node("out", "Output", {})
    for a, b in (("input", "emb"), ("emb", "head"), ("head", "out")):
        graph.connect(a, b)
    return graph


def lm_project(tmp_path, text: str, **params) -> dict:
    (tmp_path / "corpus.txt").write_text(text, encoding="utf-8")
    doc = {"format": "model-workbench-project", "version": 1, "name": "lm", "graph": lm_graph().to_dict(),
           "data": {"source": "text_corpus", "params": {"path": "corpus.txt", **params}, "val_fraction": 0.1},
           "training": {"epochs": 1, "batch_size": 8, "optimizer": {"type": "Adam", "lr": 0.01},
                        "loss": {"type": "CrossEntropyLoss"}, "device": "cpu", "seed": 0}}
    (tmp_path / "lm.wbproj").write_text(json.dumps(doc), encoding="utf-8")
    return doc


def test_facts_fill_a_copy_and_the_graph_keeps_the_form():
    graph = lm_graph()
    resolved = resolve_from_data(graph, {"vocab_size": 77})
    result = infer_shapes(resolved)
    assert result.ok and result.outputs["head"][0].shape == (16, 77) and result.resolved["emb"]["num_embeddings"] == 77
    assert graph.node("emb").params["num_embeddings"] == VOCAB and data_params(graph) == {
        "emb": {"num_embeddings": "vocab_size"}, "head": {"out_features": "vocab_size"}}
    plain = lm_graph(rows=10, width=10)
    assert resolve_from_data(plain, {"vocab_size": 77}) is plain  # nothing to do: no copy


@pytest.mark.parametrize("facts", [{}, {"vocab_size": None}, {"vocab_size": 0}, {"vocab_size": True}, {"vocab_size": "9"}])
def test_an_unknown_fact_is_a_diagnostic_on_the_node(facts):
    result = infer_shapes(resolve_from_data(lm_graph(), facts))
    assert {d.node_id for d in result.errors} == {"emb"}  # head is downstream of it
    (error,) = result.errors
    assert error.field == "num_embeddings" and "takes the data's vocab_size, which the data section does not give" in error.message


def test_only_allow_listed_params_and_facts_take_the_form():
    graph = lm_graph(width={"from_data": "num_classes"})
    graph.add_node("conv", "Conv1d", {"out_channels": VOCAB})
    graph.connect("emb", "conv")
    graph.add_node("emb2", "Embedding", {"num_embeddings": {"from_data": "num_classes"}})
    graph.connect("input", "emb2")
    graph.add_node("emb3", "Embedding", {"num_embeddings": {"from_data": "__class__"}})
    graph.connect("input", "emb3")
    result = infer_shapes(resolve_from_data(graph, {"vocab_size": 50, "num_classes": 3, "__class__": 5}))
    messages = {d.node_id: d.message for d in result.errors}
    assert result.outputs["head"][0].shape == (16, 3)  # Linear.out_features allows num_classes
    assert "cannot be taken from the data" in messages["conv"]
    assert 'only as {"from_data": "vocab_size"}' in messages["emb2"] and 'only as {"from_data": "vocab_size"}' in messages["emb3"]
    with pytest.raises(ValueError, match="outside"):
        Param("n", INT, 1, from_data=("anything",))


def test_a_chinese_corpus_changes_num_embeddings_without_a_graph_edit(tmp_path):
    english = "the cat sat on the mat, and the dog sat on the log.\n" * 50
    chinese = "".join(chr(0x4E00 + (i * 7919) % 4000) for i in range(12000)) + "\n"
    project = project_from_dict(lm_project(tmp_path, english))
    project.path = tmp_path / "lm.wbproj"
    sizes = {}
    for name, text in (("english", english), ("chinese", chinese)):
        (tmp_path / "corpus.txt").write_text(text, encoding="utf-8")
        result = infer_shapes(project_graph(project))
        sizes[name] = result.resolved["emb"]["num_embeddings"]
        assert result.outputs["head"][0].shape == (16, sizes[name])
        train_part = text[:round(len(text) * 0.9)]
        assert sizes[name] == data_facts(project.data, tmp_path)["vocab_size"] == len(set(train_part)) + 4
    assert sizes["english"] < 40 and sizes["chinese"] > 3000
    assert project.graph.node("emb").params["num_embeddings"] == VOCAB


def test_the_cli_trains_and_builds_for_export_with_sizes_from_the_data_and_keeps_the_tokenizer(tmp_path, capsys):
    text = "".join(f"{i} bottles of beer on the wall, {i} bottles of beer.\n" for i in range(99, 0, -1))
    lm_project(tmp_path, text, tokenizer="bpe", vocab_size=300)
    assert main(["summary", str(tmp_path / "lm.wbproj")]) == 0
    assert main(["train", str(tmp_path / "lm.wbproj"), "--runs-dir", str(tmp_path / "runs")]) == 0
    (run,) = (tmp_path / "runs" / "lm").iterdir()
    tokenizer = tokenizer_for_run(run)
    assert tokenizer is not None and tokenizer.kind == "bpe"
    snapshot = load_project(run / "project.wbproj")
    assert snapshot.data["params"]["tokenizer_file"] == "tokenizer.json"
    reopened = TextTokenizer.load(run / snapshot.data["params"]["tokenizer_file"])
    assert reopened.encode(text) == tokenizer.encode(text) and reopened.decode(reopened.encode(text)) == text
    built = build_model(load_project(tmp_path / "lm.wbproj"), weights=run)  # what every export starts from
    assert built.module.emb.num_embeddings == built.module.head.out_features == tokenizer.vocab_size
    capsys.readouterr()


def test_a_resumed_run_keeps_its_vocabulary_when_the_corpus_changed(tmp_path, capsys):
    lm_project(tmp_path, "abcabc abc\n" * 300)
    assert main(["train", str(tmp_path / "lm.wbproj"), "--runs-dir", str(tmp_path / "runs")]) == 0
    (run,) = (tmp_path / "runs" / "lm").iterdir()
    before = (run / "tokenizer.json").read_text(encoding="utf-8")
    (tmp_path / "corpus.txt").write_text("xyz new letters, other sizes\n" * 300, encoding="utf-8")
    assert main(["train", str(tmp_path / "lm.wbproj"), "--resume", str(run), "--epochs", "2"]) == 0
    assert (run / "tokenizer.json").read_text(encoding="utf-8") == before
    capsys.readouterr()


def test_classifier_sources_give_their_class_count(tmp_path):
    from tests.data.makers import png_folder, write_csv

    png_folder(tmp_path / "pics", classes=("a", "b"), per_class=1)
    (tmp_path / "pics" / "empty_class").mkdir()  # a folder is a class, as torchvision counts them
    write_csv(tmp_path / "t.csv", ["text", "label"], [["x", "p"], ["y", "q"]])
    assert data_facts({"source": "digits"}, tmp_path) == {"num_classes": 10, "input_shape": [1, 8, 8]}
    assert data_facts({"source": "image_folder", "params": {"path": "pics"}}, tmp_path) == {"num_classes": 3}
    assert data_facts({"source": "text_csv", "params": {"path": "t.csv"}}, tmp_path) == {"num_classes": 2}
    for broken in ({"source": "image_folder", "params": {"path": "nowhere"}}, {"source": "text_corpus"}, [], {"source": 3}):
        assert data_facts(broken, tmp_path) == {}
