"""The standalone source export: model.py + model.pt run without this project.

The export verifies that itself (a clean interpreter); this test checks it again from the
outside, the way a user would: a fresh process whose PYTHONPATH holds only the export
folder, working in a folder elsewhere, importing `model` by name and running its
`__main__` demo, and proves with `-X importtime` that no module of this project was
imported.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from workbench.export import export
from workbench.export.embedded_project import BLOCK_START
from workbench.export.model import build_model
from workbench.export.verify import model_inputs

from tests.export.helpers import example

RUN = r"""
import runpy, sys
import torch
import model  # found through sys.path, as a user's script would find it
net = model.load()
assert not net.training
inputs = torch.load(sys.argv[1], weights_only=True)
with torch.no_grad():
    out = net(*inputs)
torch.save(out, sys.argv[2])
runpy.run_path(model.__file__, run_name="__main__")  # what `python model.py` does
"""


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


@pytest.mark.parametrize("name", ["seq2seq_transformer"])  # two inputs, helper classes copied in
def test_model_py_and_model_pt_run_without_the_project(name, tmp_path):
    project = example(name)
    out_dir, elsewhere = tmp_path / "export", tmp_path / "elsewhere"
    out_dir.mkdir()
    elsewhere.mkdir()
    report = export(project, "python", out_dir / "model.py")
    assert report.ok, report.text()
    assert sorted(p.name for p in out_dir.iterdir()) == ["MODEL_CARD.md", "model.pt", "model.py", "model.py.report.json"]
    source = (out_dir / "model.py").read_text().split(BLOCK_START)[0]  # less the project block (comments)
    assert "workbench" not in source.replace("Model Workbench", "")
    assert "def load(weights=None" in source and "model = load()" in source

    built = build_model(project)
    inputs = model_inputs(built.graph, built.result, built.input_names, batch=3, seed=5)
    torch.save(inputs, elsewhere / "inputs.pt")
    env = clean_env()
    env["PYTHONPATH"] = str(out_dir)  # only the exported folder
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", RUN, "inputs.pt", "outputs.pt"],
        cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    imported = [line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")]
    assert "model" in imported and "torch" in imported
    assert not [m for m in imported if m.split(".")[0] == "workbench"]
    got = torch.load(elsewhere / "outputs.pt", weights_only=True)
    with torch.no_grad():
        expected = built.module(*inputs)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)
    assert f"torch.Size({[2, *expected.shape[1:]]})" in done.stdout  # its __main__ demo, via load()
