import math

import pytest
import torch

from workbench.core.tensors import TensorInfo
from workbench.training.losses import ObjectiveError, make_objective
from workbench.training.metrics import MetricAccumulator, metric_names


def test_classification_accuracy_top_k_and_confusion():
    obj = make_objective({"type": "CrossEntropyLoss"}, "classification", TensorInfo((6,)))
    logits = torch.tensor([[5.0, 4, 0, 0, 0, 0], [0, 5, 4, 0, 0, 0], [0, 0, 0, 0, 4, 5]])
    target = torch.tensor([0, 2, 3])
    acc = MetricAccumulator(obj, 6, top_k=2, device="cpu")
    acc.update(logits[:2], target[:2], obj(logits[:2], target[:2]))
    acc.update(logits[2:], target[2:], obj(logits[2:], target[2:]))
    m = acc.compute()
    assert m["val_accuracy"] == pytest.approx(1 / 3) and m["val_top2_accuracy"] == pytest.approx(2 / 3)
    assert m["val_loss"] == pytest.approx(obj(logits, target).item(), rel=1e-6)
    matrix = acc.confusion_matrix()
    assert matrix[0][0] == 1 and matrix[2][1] == 1 and matrix[3][5] == 1 and sum(map(sum, matrix)) == 3
    assert metric_names(obj, 6, 2) == ["val_loss", "val_accuracy", "val_top2_accuracy"]


def test_sequence_targets_are_flattened_and_ignore_index_skipped():
    obj = make_objective({"type": "CrossEntropyLoss", "ignore_index": 0}, "sequence", TensorInfo((3, 4)))
    logits = torch.zeros(2, 3, 4)
    logits[..., 1] = 1.0
    target = torch.tensor([[1, 1, 0], [2, 1, 0]])
    loss = obj(logits, target)
    assert loss.shape == () and math.isfinite(loss.item())
    acc = MetricAccumulator(obj, 4, top_k=5, device="cpu")
    acc.update(logits, target, loss)
    assert acc.compute()["val_accuracy"] == pytest.approx(3 / 4)  # padding positions not counted


def test_binary_bce_with_one_logit():
    obj = make_objective({"type": "BCEWithLogitsLoss"}, "classification", TensorInfo((1,)))
    assert obj.target_dtype == torch.float32
    out, target = torch.tensor([[2.0], [-1.0], [0.5]]), torch.tensor([1.0, 1.0, 0.0])
    acc = MetricAccumulator(obj, 2, top_k=5, device="cpu")
    acc.update(out, target, obj(out, target))
    assert acc.compute()["val_accuracy"] == pytest.approx(1 / 3)
    assert acc.confusion_matrix() == [[0, 1], [1, 1]]


def test_regression_mae_rmse():
    obj = make_objective({"type": "L1Loss"}, "regression", TensorInfo((1,)))
    out, target = torch.tensor([[1.0], [2.0]]), torch.tensor([[0.0], [4.0]])
    acc = MetricAccumulator(obj, None, top_k=5, device="cpu")
    acc.update(out, target, obj(out, target))
    m = acc.compute()
    assert m["val_mae"] == pytest.approx(1.5) and m["val_rmse"] == pytest.approx(math.sqrt(2.5))
    assert acc.confusion_matrix() is None


@pytest.mark.parametrize("loss, task, shape, words", [
    ("MSELoss", "classification", (10,), "use CrossEntropyLoss"),
    ("CrossEntropyLoss", "regression", (1,), "use MSELoss"),
    ("CrossEntropyLoss", "classification", (4, 10), "[N, C]"),
    ("BCEWithLogitsLoss", "classification", (3,), "one logit per sample"),
])
def test_loss_task_mismatch_says_what_to_use(loss, task, shape, words):
    with pytest.raises(ObjectiveError) as info:
        make_objective({"type": loss}, task, TensorInfo(shape))
    assert words in str(info.value)
