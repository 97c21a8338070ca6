"""Every torchvision model of docs/import.md still imports exactly through the FxModule allow-list
(slow: minutes; the CI subset is in test_importer.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from tests.core.test_importer import TOLERANCE, fresh_catalog, max_diff, reload
from workbench.core.importer import import_model

DOC = Path(__file__).resolve().parents[2] / "docs" / "import.md"
ROW = re.compile(r"^\| (\w+) \| (\d+)×(\d+) \| \d+ \| \d+ \| [^|]+ \| exact \|", re.M)
MODELS = [(name, int(h)) for name, h, _w in ROW.findall(DOC.read_text(encoding="utf-8"))]


def test_the_doc_lists_the_24_models():
    assert len(MODELS) == 24


@pytest.mark.slow
@pytest.mark.parametrize("name,size", MODELS, ids=[m for m, _ in MODELS])
def test_model_imports_exactly(name, size, tmp_path):
    torchvision = pytest.importorskip("torchvision")
    catalog = fresh_catalog()
    result = import_model(f"torchvision.models:{name}", [(3, size, size)], catalog=catalog)
    assert result.ok, result.text()
    assert result.max_diff <= TOLERANCE
    _project, model = reload(result, tmp_path, catalog)
    torch.manual_seed(0)
    original = getattr(torchvision.models, name)(weights=None).eval()
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        assert max_diff(model(x), original(x)) <= TOLERANCE
