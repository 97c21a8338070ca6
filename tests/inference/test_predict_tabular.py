"""`workbench predict` on CSV rows: columns by name, the training split's standardisation."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.inference.predict_runs import example, train
from workbench.cli import main
from workbench.inference.predict import PredictError, Predictor


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("table")
    rng = np.random.default_rng(0)
    x = rng.normal([5.0, -20.0], [2.0, 10.0], (300, 2))
    label = np.where(x[:, 0] * 10 + x[:, 1] > 30, "high", "low")
    lines = ["height,weight,label"] + [f"{a:.4f},{b:.4f},{c}" for (a, b), c in zip(x, label)]
    (tmp / "train.csv").write_text("\n".join(lines) + "\n")
    project = example(tmp, "tabular_mlp", data={"source": "csv", "params": {"path": "train.csv", "target": "label"}},
                      epochs=3)
    run, bundle = train(project, tmp / "runs")
    return tmp, project, run, bundle


def test_rows_are_matched_by_name_and_standardised(table, capsys):
    tmp, project, run, bundle = table
    predictor = Predictor.open(project, run)
    assert predictor.modality == "tabular" and predictor.classes == ["high", "low"]
    (height, low_h, high_h), (weight, _, _) = predictor.columns
    assert (height, weight) == ("height", "weight") and low_h < 5 < high_h
    # columns in another order, an extra id column: matched by name
    (tmp / "rows.csv").write_text("id,weight,height\n1,-20,9\n2,-20,1\n")
    rows = predictor.predict_files([tmp / "rows.csv"])
    mean = torch.tensor(bundle.extra["feature_mean"]).flatten()
    std = torch.tensor(bundle.extra["feature_std"]).flatten()
    assert torch.allclose(rows[0].model_input, (torch.tensor([9.0, -20.0]) - mean) / std, atol=1e-5)
    assert [r.top[0][0] for r in rows] == ["high", "low"]
    assert rows[0].source == "rows.csv line 2"
    assert main(["predict", str(project.path), "--weights", str(run), str(tmp / "rows.csv"), "--json"]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [o["top"][0]["class"] for o in out] == ["high", "low"]


def test_predict_rows_names_a_missing_or_bad_value(table):
    _, project, run, _ = table
    predictor = Predictor.open(project, run)
    assert len(predictor.predict_rows([{"height": 3, "weight": 1.5}])) == 1
    with pytest.raises(PredictError, match="row 1: missing the column 'weight'"):
        predictor.predict_rows([{"height": 3}])
    with pytest.raises(PredictError, match="row 2: column 'height' has 'tall', not a number"):
        predictor.predict_rows([{"height": 3, "weight": 1}, {"height": "tall", "weight": 1}])


@pytest.mark.parametrize("content, message", [
    ("height,label\n3,x\n", "missing the column 'weight'"),
    ("height,weight\n3,4,5\n", "line 2: 3 values but the header has 2 columns"),
    ("height,weight\n3,nan\n", "column 'weight' has 'nan', not a number"),
    ("height,weight\n", "a header but no rows"),
])
def test_wrong_csv_columns_are_one_error_line(table, tmp_path, capsys, content, message):
    _, project, run, _ = table
    (tmp_path / "bad.csv").write_text(content)
    assert main(["predict", str(project.path), "--weights", str(run), str(tmp_path / "bad.csv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "bad.csv" in err[0] and message in err[0], err
