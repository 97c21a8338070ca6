"""The evidence of docs/import.md: an imported torchvision model's `workbench summary --json` has
the original's parameter total exactly and FlopCounterMode's FLOPs within 1% (never null).
A CI-sized subset here; every classification model at 224x224 under `slow`
(benchmarks/import_coverage.py prints the table)."""

from __future__ import annotations

import json

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from tests.plugins.helpers import fresh_catalog
from workbench.cli import main
from workbench.core.flop_count import decomposed
from workbench.core.importer import import_model
from workbench.core.project import save_project

torchvision = pytest.importorskip("torchvision")
AUX_HEADS = ("googlenet", "inception_v3")  # training-only classifiers: an eval-mode import leaves them out


def reference_flops(model, size: int) -> int:
    counter = FlopCounterMode(display=False)
    with decomposed(), counter, torch.no_grad():
        model.eval()(torch.randn(1, 3, size, size))
    return counter.get_total_flops()


def check(name: str, size: int, tmp_path, capsys) -> dict:
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None).eval()
    result = import_model(f"torchvision.models:{name}", [(3, size, size)], catalog=fresh_catalog(), model=model)
    assert result.ok, result.text()
    path = tmp_path / f"{name}.wbproj"
    save_project(result.project, path)
    capsys.readouterr()
    assert main(["summary", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    used = sum(p.numel() for p in torch.fx.symbolic_trace(model).parameters())  # what the eval forward uses
    assert report["total_params"] == used
    if name not in AUX_HEADS:
        assert used == sum(p.numel() for p in model.parameters())
    expected = reference_flops(model, size)
    assert report["total_flops"] is not None and abs(report["total_flops"] - expected) <= 0.01 * expected
    assert report["total_macs"] * 2 == report["total_flops"]
    assert report["flops_counted_nodes"] == len(result.unmapped)  # every FxModule is counted by torch
    return report


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2"])
def test_ci_subset_params_and_flops_match_the_original(name, tmp_path, capsys):
    report = check(name, 32, tmp_path, capsys)
    assert report["per_sample_at"] == {"x": [3, 32, 32]}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(torchvision.models.list_models(module=torchvision.models)))
def test_every_classification_model_at_224(name, tmp_path, capsys):
    check(name, 224, tmp_path, capsys)
