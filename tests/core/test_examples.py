"""The bundled example projects: each loads, validates clean, compiles, runs, and its
generated standalone source is the same network.

Each example is built once per session (the ResNet-18 one is the slow one); the tests
below only compare what the build produced.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from torch import nn

from workbench.cli import main as cli_main
from workbench.core.codegen import codegen
from workbench.core.compile import class_name, compile_graph
from workbench.core.project import Project, load_project, save_project
from workbench.core.shapes import ERROR, InferenceResult, infer_shapes
from workbench.core.summary import summarize
from workbench.data.facts import project_graph
from workbench.paths import EXAMPLES, examples

EXPECTED = {
    "autoencoder",
    "cifar_resnet_block",
    "digits_cnn",
    "gpt_bpe",
    "gpt_char",
    "lstm_text_classifier",
    "mnist_cnn",
    "seq2seq_transformer",
    "speech_mel_cnn",
    "tabular_mlp",
    "transfer_resnet18",
    "transformer_text_classifier",
}
EXAMPLE_FILES = examples()
IDS = [p.stem for p in EXAMPLE_FILES]
GRID = 120  # vertical spacing of the layout, px
BATCH = 2


# ---- fake torch hub cache for the ImageNet ResNet-18 (conftest-compatible) ------------------


@pytest.fixture
def fake_resnet18_cache(resnet18_torch_home, monkeypatch) -> Path:
    """Point TORCH_HOME at the fake cache for one test (after the autouse isolated home)."""
    monkeypatch.setenv("TORCH_HOME", str(resnet18_torch_home))
    yield resnet18_torch_home


# ---- one build per example --------------------------------------------------------------


@dataclass
class Built:
    path: Path
    raw: dict
    project: Project
    result: InferenceResult
    module: torch.fx.GraphModule
    source: str
    generated: nn.Module
    inputs: dict[str, torch.Tensor]


def random_inputs(project: Project, result: InferenceResult) -> dict[str, torch.Tensor]:
    """Batch-2 inputs per Input node; token ids stay below every Embedding they feed."""
    graph = project.graph
    generator = torch.Generator().manual_seed(0)
    inputs = {}
    for node in graph.nodes_of_type("Input"):
        info = result.outputs[node.id][0]
        if info.dtype == "int64":
            vocab = [
                result.resolved[t]["num_embeddings"]
                for t in graph.successors(node.id)
                if graph.nodes[t].type == "Embedding"
            ]
            inputs[node.id] = torch.randint(0, min(vocab, default=2), info.full(BATCH), generator=generator)
        else:
            inputs[node.id] = torch.randn(info.full(BATCH), generator=generator)
    return inputs


_BUILDS: dict[str, Built] = {}


def build(path: Path, torch_home: Path) -> Built:
    """Load, infer, compile and codegen one example, once per session."""
    if path.stem in _BUILDS:
        return _BUILDS[path.stem]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TORCH_HOME", str(torch_home))
        project = load_project(path)
        project.graph = project_graph(project)  # sizes written {"from_data": ...} resolved from the data
        result = infer_shapes(project.graph)
        assert [str(d) for d in result.diagnostics] == []
        torch.manual_seed(0)
        module = compile_graph(project.graph, project.name, result)
        source = codegen(project.graph, project.name, result)
        namespace = {"__name__": f"generated_{path.stem}"}
        exec(compile(source, f"<generated {path.name}>", "exec"), namespace)
        generated = namespace[class_name(project.name)]()
    raw = json.loads(path.read_text(encoding="utf-8"))
    _BUILDS[path.stem] = Built(path, raw, project, result, module, source, generated, random_inputs(project, result))
    return _BUILDS[path.stem]


@pytest.fixture(scope="module", params=EXAMPLE_FILES, ids=IDS)
def built(request, resnet18_torch_home) -> Built:
    return build(request.param, resnet18_torch_home)


@pytest.fixture(scope="module")
def example(resnet18_torch_home):
    """example("autoencoder") -> that example's Built."""
    return lambda stem: build(EXAMPLES / f"{stem}.wbproj", resnet18_torch_home)


def expected_shapes(b: Built) -> list[tuple[int, ...]]:
    graph = b.project.graph
    shapes = []
    for out_id in b.module.output_names:
        (edge,) = graph.in_edges(out_id)
        shapes.append(b.result.outputs[edge.source][edge.source_port].full(BATCH))
    return shapes


def as_list(out) -> list[torch.Tensor]:
    return list(out) if isinstance(out, (tuple, list)) else [out]


# ---- the set of examples ------------------------------------------------------------------


def test_every_expected_example_is_bundled():
    assert EXAMPLES.is_dir()
    assert set(IDS) == EXPECTED


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=IDS)
def test_file_is_the_documented_format(path: Path):
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["format"] == "model-workbench-project"
    assert doc["version"] == 1
    required = {"format", "version", "name", "graph", "data", "training"}
    assert required <= set(doc) <= required | {"description"}
    assert isinstance(doc.get("description", ""), str)
    assert isinstance(doc["data"]["source"], str) and isinstance(doc["data"]["params"], dict)
    training = doc["training"]
    for key in ("epochs", "batch_size", "optimizer", "loss", "device", "seed"):
        assert key in training, key
    assert training["loss"]["type"] in ("CrossEntropyLoss", "MSELoss")


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=IDS)
def test_layout_reads_down_each_column_then_to_the_right(path: Path):
    doc = json.loads(path.read_text(encoding="utf-8"))
    pos = {n["id"]: tuple(n["pos"]) for n in doc["graph"]["nodes"]}
    assert len(set(pos.values())) == len(pos), "two nodes share a position"
    assert all(y % GRID == 0 for _, y in pos.values())
    for edge in doc["graph"]["edges"]:
        (sx, sy), (tx, ty) = pos[edge["source"]], pos[edge["target"]]
        assert ty > sy or tx > sx, edge  # down the column, or on into a column further right


# ---- per example: load, validate, compile, run -----------------------------------------------


def test_validates_without_errors_or_warnings(built: Built):
    assert built.result.diagnostics == []
    assert built.result.live == set(built.project.graph.nodes), "every node feeds an Output"


def test_compiled_forward_matches_inferred_shapes(built: Built):
    module = built.module
    assert list(module.input_names) == list(built.inputs)
    with torch.no_grad():
        for training in (True, False):
            module.train(training)
            outs = as_list(module(**built.inputs))
            assert [tuple(o.shape) for o in outs] == expected_shapes(built)
            assert all(o.dtype == torch.float32 and torch.isfinite(o).all() for o in outs)
    module.eval()


def test_generated_source_is_the_same_network(built: Built):
    compiled, generated = built.module.eval(), built.generated.eval()
    generated.load_state_dict(compiled.state_dict(), strict=True)
    with torch.no_grad():
        expected = as_list(compiled(**built.inputs))
        actual = as_list(generated(**built.inputs))
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        assert a.shape == e.shape
        assert (a - e).abs().max().item() <= 1e-5


def test_generated_source_needs_nothing_from_workbench(built: Built):
    assert "workbench" not in built.source
    assert "def forward(self, " + ", ".join(built.module.input_names) + "):" in built.source


def test_save_load_round_trip_is_identical(built: Built, tmp_path: Path):
    target = save_project(load_project(built.path), tmp_path / built.path.name)
    again = load_project(target)
    assert again.to_dict() == built.raw
    assert json.loads(target.read_text(encoding="utf-8")) == built.raw
    # the bundled file is byte for byte what the app itself writes
    assert target.read_text(encoding="utf-8") == built.path.read_text(encoding="utf-8")


# ---- example-specific promises -----------------------------------------------------------------


def test_autoencoder_reconstructs_the_input_shape(example):
    b = example("autoencoder")
    assert b.project.training["loss"]["type"] == "MSELoss"
    assert expected_shapes(b) == [tuple(b.inputs["image"].shape)]
    with torch.no_grad():
        out = b.module(**b.inputs)
    assert 0.0 <= out.min().item() and out.max().item() <= 1.0  # Sigmoid


def test_seq2seq_feeds_target_and_memory_to_the_decoder(example):
    b = example("seq2seq_transformer")
    graph = b.project.graph
    ports = {e.target_port: e.source for e in graph.in_edges("decoder")}
    assert ports == {0: "tgt_pos", 1: "encoder"}
    assert set(b.inputs) == {"source", "target"}
    assert b.inputs["source"].shape == (BATCH, 24) and b.inputs["target"].shape == (BATCH, 20)
    assert expected_shapes(b) == [(BATCH, 20, 20)]  # one logit per vocabulary token


# summary counts parameters by building the backbone on the meta device, which loads the cached
# checkpoint into meta tensors: torch warns once per tensor that the copy is a no-op.
@pytest.mark.filterwarnings("ignore:for .*copying from a non-meta parameter:UserWarning")
def test_transfer_backbone_trains_from_random_weights_by_default(example):
    b = example("transfer_resnet18")  # offline out of the box: no ImageNet weights needed
    assert b.project.graph.nodes["backbone"].params["weights"] == "none"
    assert all(p.requires_grad for p in b.module.get_submodule("backbone").parameters())
    summary = summarize(b.project.graph, b.result)
    assert summary.trainable_params == summary.total_params == 11_176_512 + 5_130


@pytest.mark.filterwarnings("ignore:for .*copying from a non-meta parameter:UserWarning")
def test_transfer_backbone_with_imagenet_weights_can_be_frozen(fake_resnet18_cache):
    project = with_imagenet_weights(load_project(EXAMPLES / "transfer_resnet18.wbproj"), trainable=False)
    result = infer_shapes(project.graph)
    assert result.diagnostics == []
    module = compile_graph(project.graph, project.name, result)
    assert not any(p.requires_grad for p in module.get_submodule("backbone").parameters())
    summary = summarize(project.graph, result)
    assert summary.trainable_params == 512 * 10 + 10  # only the classifier head trains
    assert summary.total_params == 11_176_512 + 5_130


def with_imagenet_weights(project: Project, trainable: bool = True) -> Project:
    project.graph.set_params("backbone", {**project.graph.nodes["backbone"].params, "weights": "imagenet",
                                          "trainable": trainable})
    return project


def test_cifar_example_has_both_kinds_of_skip(example):
    b = example("cifar_resnet_block")
    graph = b.project.graph
    assert {e.target_port: e.source for e in graph.in_edges("b1_add")} == {0: "b1_bn2", 1: "stem_relu"}
    assert {e.target_port: e.source for e in graph.in_edges("b2_add")} == {0: "b2_bn2", 1: "b2_down_bn"}


# ---- without the fake cache -------------------------------------------------------------------------


def test_transfer_example_without_cached_weights_names_the_missing_file():
    project = with_imagenet_weights(load_project(EXAMPLES / "transfer_resnet18.wbproj"))
    result = infer_shapes(project.graph)
    (diag,) = result.errors
    assert diag.node_id == "backbone" and diag.severity == ERROR
    assert "imagenet weights for resnet18 are not in the local torch cache" in diag.message
    assert os.path.join(os.environ["TORCH_HOME"], "hub", "checkpoints", "resnet18-") in diag.message


def test_missing_weights_error_clears_once_the_weights_are_cached(resnet18_torch_home, monkeypatch):
    project = with_imagenet_weights(load_project(EXAMPLES / "transfer_resnet18.wbproj"))
    assert infer_shapes(project.graph).errors  # the autouse TORCH_HOME is empty
    monkeypatch.setenv("TORCH_HOME", str(resnet18_torch_home))  # the user downloads the weights
    assert infer_shapes(project.graph).diagnostics == []
    monkeypatch.setenv("TORCH_HOME", "/nonexistent")  # and deletes them again
    assert infer_shapes(project.graph).errors


def test_fake_cache_fixture_gives_a_clean_transfer_example(fake_resnet18_cache):
    from workbench.core.modules.backbones import Backbone, cached_weights_path

    assert Path(cached_weights_path("resnet18")).is_file()
    assert Backbone.weights_path("resnet18") == cached_weights_path("resnet18")
    project = load_project(EXAMPLES / "transfer_resnet18.wbproj")
    assert infer_shapes(project.graph).diagnostics == []


# ---- summary against a hand-written network ----------------------------------------------------------


class HandWrittenCifarResNet(nn.Module):
    """cifar_resnet_block written by hand in plain PyTorch."""

    def __init__(self):
        super().__init__()

        def conv3(cin, cout, stride=1):
            return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)

        self.stem = nn.Sequential(conv3(3, 32), nn.BatchNorm2d(32), nn.ReLU())
        self.b1 = nn.Sequential(conv3(32, 32), nn.BatchNorm2d(32), nn.ReLU(), conv3(32, 32), nn.BatchNorm2d(32))
        self.b2 = nn.Sequential(conv3(32, 64, 2), nn.BatchNorm2d(64), nn.ReLU(), conv3(64, 64), nn.BatchNorm2d(64))
        self.b2_down = nn.Sequential(nn.Conv2d(32, 64, 1, stride=2, bias=False), nn.BatchNorm2d(64))
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.stem(x)
        x = torch.relu(self.b1(x) + x)
        x = torch.relu(self.b2(x) + self.b2_down(x))
        return self.fc(x.mean(dim=(2, 3)))


def test_summary_total_params_matches_hand_written_pytorch(capsys):
    hand = HandWrittenCifarResNet()
    assert hand(torch.randn(BATCH, 3, 32, 32)).shape == (BATCH, 10)
    expected = sum(p.numel() for p in hand.parameters())
    code = cli_main(["summary", str(EXAMPLES / "cifar_resnet_block.wbproj"), "--json"])
    out = capsys.readouterr().out
    assert code == 0
    report = json.loads(out)
    assert report["total_params"] == expected == 77_866
    assert sum(n["params"] for n in report["nodes"]) == expected
