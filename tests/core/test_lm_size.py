"""The token-model size readout: embedding vs other parameters, FLOPs per token, 6N, 20 tokens/param."""

from __future__ import annotations

import json

from workbench.cli import main
from workbench.core.lm_size import token_model_size
from workbench.core.project import load_project
from workbench.core.shapes import infer_shapes
from workbench.core.summary import summarize
from workbench.data.facts import project_graph
from workbench.paths import EXAMPLES


def test_gpt_char_readout_splits_parameters_and_counts_per_token():
    project = load_project(EXAMPLES / "gpt_char.wbproj")
    graph = project_graph(project)
    result = infer_shapes(graph)
    summary = summarize(graph, result)
    size = token_model_size(graph, result, summary, corpus_tokens=1000)
    vocab = result.resolved["embed"]["num_embeddings"]
    assert size.context == 128
    assert size.embedding_params == vocab * 128  # the tied head adds nothing
    assert size.params == summary.total_params
    assert size.forward_flops_per_token == summary.total_flops // 128
    assert size.training_flops_per_token == 6 * size.non_embedding_params
    assert size.compute_optimal_tokens == 20 * summary.total_params
    assert "the corpus holds 1.00k" in size.lines()[-1]


def test_summary_json_carries_it_for_token_models_only(capsys):
    assert main(["summary", str(EXAMPLES / "gpt_char.wbproj"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["token_model"]["context"] == 128
    assert doc["token_model"]["non_embedding_params"] + doc["token_model"]["embedding_params"] == doc["total_params"]
    assert main(["summary", str(EXAMPLES / "digits_cnn.wbproj"), "--json"]) == 0
    assert "token_model" not in json.loads(capsys.readouterr().out)
