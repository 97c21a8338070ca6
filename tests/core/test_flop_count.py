"""FLOPs for every node: a layer without a formula (an imported FxModule, a plugin) is counted by
torch on meta tensors, marked "counted", and the total is never n/a for a graph that compiles."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from tests.plugins.helpers import fresh_catalog
from workbench.core import flop_count
from workbench.core.catalog import Constructor, LayerSpec
from workbench.core.graph import Graph
from workbench.core.importer import import_model
from workbench.core.summary import COUNTED, FORMULA, summarize
from workbench.core.tensors import TensorInfo


class Einsum(nn.Module):
    """[N, 6, 5] -> [N, 6, 6]: a batched product no catalog layer maps, so it stays an FxModule."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(5, 5)

    def forward(self, x):
        return torch.einsum("bij,bkj->bik", self.proj(x), x)


class ReadsValues(nn.Module):
    """Cannot run on meta (it reads a value); small enough to be counted on the CPU instead."""

    def __init__(self, width: int):
        super().__init__()
        self.fc = nn.Linear(width, 3)

    def forward(self, x):
        return self.fc(x) * float(x.abs().amax() > -1)


def _reference(module: nn.Module, *shape: int) -> int:
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        module.eval()(torch.randn(1, *shape))
    return counter.get_total_flops()


def test_an_imported_fx_module_is_counted_like_the_original():
    catalog = fresh_catalog()
    result = import_model("tests.core.test_flop_count:Einsum", [(6, 5)], catalog=catalog, model=Einsum())
    assert result.ok and [what.split(" ")[0] for _, what in result.unmapped] == ["torch.functional.einsum"]
    summary = summarize(result.project.graph)
    rows = {n.type: n for n in summary.nodes}
    assert rows["FxModule"].flops_source == COUNTED and rows["FxModule"].flops == 2 * 6 * 6 * 5
    assert rows["Linear"].flops_source == FORMULA
    assert summary.total_flops == _reference(Einsum(), 6, 5) and summary.counted == 1
    assert summary.total_macs * 2 == summary.total_flops
    assert summary.to_json()["per_sample_at"] == {"x": [6, 5]}


def _plugin_graph(module_cls, width: int = 7) -> Graph:
    catalog = fresh_catalog()
    catalog.register(LayerSpec(name="Plug", category="Plugins", doc="no FLOPs formula",
                               construct=lambda inputs, p: Constructor(module_cls, {"width": inputs[0].shape[-1]}),
                               infer=lambda inputs, p: [TensorInfo((3,))]))
    graph = Graph(catalog)
    graph.add_node("x", "Input", {"shape": [width]})
    graph.add_node("plug", "Plug", {})
    graph.add_node("out", "Output", {})
    graph.connect("x", "plug")
    graph.connect("plug", "out")
    return graph


class Dense(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.fc = nn.Linear(width, 3)

    def forward(self, x):
        return self.fc(x)


@pytest.mark.parametrize("module_cls", [Dense, ReadsValues], ids=["on-meta", "on-cpu"])
def test_a_plugin_without_a_formula_is_counted(module_cls):
    summary = summarize(_plugin_graph(module_cls))
    plug = next(n for n in summary.nodes if n.id == "plug")
    assert (plug.flops, plug.flops_source) == (2 * 7 * 3, COUNTED)
    assert summary.total_flops == 2 * 7 * 3 == _reference(module_cls(7), 7)
    assert "1 layers counted by torch on meta tensors" in summary.table()


class SharedWork(nn.Module):
    """A product computed once per forward whatever the batch (Swin-v2's position-bias MLP)."""

    def __init__(self, width: int):
        super().__init__()
        self.table = nn.Parameter(torch.randn(5, 4))
        self.fc = nn.Linear(width, 3)

    def forward(self, x):
        return self.fc(x) + (self.table @ self.table.T).sum()


def test_work_that_does_not_grow_with_the_batch_counts_whole_as_flop_counter_does():
    summary = summarize(_plugin_graph(SharedWork))
    assert summary.total_flops == 2 * 7 * 3 + 2 * 5 * 5 * 4 == _reference(SharedWork(7), 7)


def test_counts_are_memoised_on_type_params_and_input_shapes(monkeypatch):
    graph = _plugin_graph(Dense, width=11)
    summarize(graph)
    runs = []
    original = flop_count._run
    monkeypatch.setattr(flop_count, "_run", lambda *a: runs.append(a) or original(*a))
    summarize(graph)
    assert runs == []
    graph.set_params("x", {"shape": [12]})
    assert next(n for n in summarize(graph).nodes if n.id == "plug").flops == 2 * 12 * 3
    assert len(runs) == 1


def test_a_layer_that_cannot_run_has_no_figure():
    class Broken(nn.Module):
        def forward(self, x):
            raise RuntimeError("no")

    spec = LayerSpec(name="Broken", category="Plugins", doc="", construct=lambda i, p: Constructor(Broken))
    assert flop_count.counted_flops(spec, {}, (TensorInfo((7,)),)) is None
