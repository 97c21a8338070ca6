"""Where an export's weights come from: the seed, a run folder, a checkpoint, a state dict.

Also: a bad weights file is refused with a message that says what is wrong, and a file
that holds pickled objects is refused without running any of them.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from workbench.export import ExportError, export
from workbench.export.model import build_model
from workbench.export.weights import (
    RUN_FILES,
    WeightsError,
    apply_state_dict,
    find_weights_file,
    load_checkpoint,
    save_checkpoint,
)

from tests.export.helpers import example


@pytest.fixture
def project():
    return example("tabular_mlp")


def trained_like(project, seed: int) -> dict[str, torch.Tensor]:
    """A state dict of the right shapes whose values differ from the seed's."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return {k: torch.randn_like(v) for k, v in build_model(project).module.state_dict().items()}


def test_two_exports_of_one_project_carry_identical_weights(project, tmp_path):
    first = export(project, "state_dict", tmp_path / "a.pt")
    torch.manual_seed(12345)  # the caller's RNG state must not matter ...
    second = export(project, "state_dict", tmp_path / "b.pt")
    a = torch.load(first.path, weights_only=True)
    b = torch.load(second.path, weights_only=True)
    assert list(a) == list(b)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert first.weights == "initialised from training.seed 0"


def test_the_seed_decides_the_weights_and_export_leaves_the_global_rng_alone(project):
    torch.manual_seed(7)
    before = torch.random.get_rng_state()
    a = build_model(project).module.state_dict()
    assert torch.equal(torch.random.get_rng_state(), before)
    project.training["seed"] = 1
    b = build_model(project).module.state_dict()
    assert not torch.equal(a["fc1.weight"], b["fc1.weight"])


def test_onnx_exports_of_one_project_hold_identical_initializers(project, tmp_path):
    import onnx
    from onnx import numpy_helper

    paths = [export(project, "onnx", tmp_path / f"{i}.onnx").path for i in range(2)]
    tensors = [{t.name: numpy_helper.to_array(t) for t in onnx.load(p).graph.initializer} for p in paths]
    assert tensors[0].keys() == tensors[1].keys() and tensors[0]
    assert all((tensors[0][k] == tensors[1][k]).all() for k in tensors[0])


@pytest.mark.parametrize(
    "present", [("best.pt", "final.pt", "checkpoint.pt"), ("final.pt", "checkpoint.pt"), ("checkpoint.pt",)]
)
def test_a_run_folder_gives_best_then_final_then_checkpoint(project, tmp_path, present):
    for i, name in enumerate(present):
        save_checkpoint(tmp_path / name, trained_like(project, i), epoch=i + 1, optimizer={"lr": 0.1})
    assert find_weights_file(tmp_path) == tmp_path / present[0]
    built = build_model(project, tmp_path)
    expected = trained_like(project, 0)
    assert all(torch.equal(built.module.state_dict()[k], v) for k, v in expected.items())
    assert built.weights == f"loaded from checkpoint {tmp_path / present[0]}, epoch 1"
    assert RUN_FILES == ("best.pt", "final.pt", "checkpoint.pt")


def test_export_from_a_checkpoint_file_and_from_a_plain_state_dict(project, tmp_path):
    state = trained_like(project, 3)
    save_checkpoint(tmp_path / "ckpt.pt", state, epoch=4, metrics={"val_loss": 0.5})
    torch.save(state, tmp_path / "plain.pt")
    a = export(project, "state_dict", tmp_path / "a.pt", weights=tmp_path / "ckpt.pt")
    b = export(project, "state_dict", tmp_path / "b.pt", weights=str(tmp_path / "plain.pt"))
    assert a.ok and b.ok
    assert "checkpoint" in a.weights and "epoch 4" in a.weights and "state dict" in b.weights
    for report in (a, b):
        saved = torch.load(report.path, weights_only=True)
        assert all(torch.equal(saved[k], v) for k, v in state.items())


def test_a_trainer_checkpoint_with_extra_plain_entries_is_read(project, tmp_path):
    """What workbench.training writes: format/version header, rng lists, metrics..."""
    payload = {
        "format": "workbench-checkpoint",
        "version": 1,
        "model": trained_like(project, 5),
        "optimizer": {"state": {}, "param_groups": [{"lr": 0.001, "params": [0, 1]}]},
        "epoch": 2,
        "rng": {"python": [3, [1, 2, 3], None], "torch": torch.get_rng_state()},
        "metrics": {"val_accuracy": 0.9},
    }
    torch.save(payload, tmp_path / "checkpoint.pt")
    assert load_checkpoint(tmp_path)["epoch"] == 2
    assert build_model(project, tmp_path).weights.endswith("checkpoint.pt, epoch 2")


def test_ddp_prefixed_keys_are_accepted(project, tmp_path):
    state = trained_like(project, 6)
    torch.save({"module." + k: v for k, v in state.items()}, tmp_path / "ddp.pt")
    loaded = build_model(project, tmp_path / "ddp.pt").module.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in state.items())


def test_keys_that_do_not_fit_are_listed(project, tmp_path):
    state = trained_like(project, 0)
    del state["fc3.bias"]
    state["fc9.weight"] = torch.zeros(3)
    state["fc1.weight"] = torch.zeros(5, 2)
    torch.save(state, tmp_path / "other.pt")
    with pytest.raises(ExportError) as caught:
        build_model(project, tmp_path / "other.pt")
    message = str(caught.value)
    assert "do not fit this model" in message
    assert "missing 1 key(s): fc3.bias" in message
    assert "unexpected 1 key(s): fc9.weight" in message
    assert "fc1.weight is [5, 2] in the file but [64, 2] in the model" in message


def test_a_long_list_of_wrong_keys_is_cut_short(project):
    model = build_model(project).module
    with pytest.raises(WeightsError, match=r"missing 6 key\(s\): fc1.weight, fc1.bias, fc2.weight \(and 3 more\)"):
        apply_state_dict(model, {})


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"\x00\x01garbage that is no zip and no pickle", "not a PyTorch weights file that loads safely"),
        (b"", "not a PyTorch weights file"),
        ("json", "not a PyTorch weights file that loads safely"),
        ("truncated", "not a PyTorch weights file"),
        ("tensor", "holds a single tensor of shape [3], not weights"),
        ("list", "holds a list, not weights"),
        ("mixed", "not a state dict: note is not tensors"),
    ],
)
def test_a_malformed_weights_file_is_refused_clearly(project, tmp_path, content, expected):
    path = tmp_path / "weights.pt"
    if content == "json":
        path.write_text('{"fc1.weight": [1, 2]}')
    elif content == "truncated":
        torch.save(trained_like(project, 0), path)
        path.write_bytes(path.read_bytes()[:200])
    elif content == "tensor":
        torch.save(torch.zeros(3), path)
    elif content == "list":
        torch.save([torch.zeros(3)], path)
    elif content == "mixed":
        torch.save({"fc1.weight": torch.zeros(64, 2), "note": "hello"}, path)
    else:
        path.write_bytes(content)
    with pytest.raises(ExportError) as caught:
        export(project, "onnx", tmp_path / "model.onnx", weights=path)
    assert str(path) in str(caught.value) and expected in str(caught.value)
    assert not (tmp_path / "model.onnx").exists()


def test_missing_weights_and_empty_run_folders_are_named(project, tmp_path):
    with pytest.raises(ExportError, match="no such file or folder"):
        build_model(project, tmp_path / "nope.pt")
    with pytest.raises(ExportError, match="a run folder must contain best.pt, final.pt, checkpoint.pt"):
        build_model(project, tmp_path)


class _Payload:
    """Unpickling this would create a marker file: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("layout", ["bare", "bare_protocol_4", "inside_checkpoint", "zip_torch_save"])
def test_a_pickled_object_is_refused_without_running_it(project, tmp_path, layout):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    if layout == "bare":
        path.write_bytes(pickle.dumps(_Payload(marker), protocol=2))
    elif layout == "bare_protocol_4":  # fails on the frame opcode before it reaches the object
        path.write_bytes(pickle.dumps(_Payload(marker), protocol=4))
    elif layout == "inside_checkpoint":
        torch.save({"model": trained_like(project, 0), "extra": _Payload(marker)}, path)
    else:
        torch.save({"fc1.weight": _Payload(marker)}, path)
    assert not marker.exists()  # writing it did not run the payload either
    with pytest.raises(ExportError) as caught:
        export(project, "state_dict", tmp_path / "out.pt", weights=path)
    message = str(caught.value)
    if layout == "bare_protocol_4":
        assert "not a PyTorch weights file that loads safely" in message
    else:
        assert "refused" in message and "pickled Python objects" in message and "could run code" in message
    assert not marker.exists()
    assert not (tmp_path / "out.pt").exists()
    with pytest.raises(WeightsError):
        load_checkpoint(path)  # the Trainer's resume path refuses it the same way
    assert not marker.exists()
    # the payload is live: an unsafe load does run it (which is why we never do one)
    if layout.startswith("bare"):
        pickle.loads(path.read_bytes())
    else:
        torch.load(path, weights_only=False)
    assert marker.exists()
