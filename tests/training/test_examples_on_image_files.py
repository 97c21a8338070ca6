"""The examples that train on downloadable image sets (MNIST, CIFAR-10, transfer learning)
train here on image files generated on the fly, read through the `image_folder` source.

Each class is a stripe pattern with its own orientation and spacing (and tint, in colour)
on a noisy background — telling them apart needs no position information, so the
globally pooled models can learn it too. They are written as real PNG files, so the whole
path (decode, resize, greyscale/RGB, split, train) runs offline.
"""

import numpy as np
import pytest
from PIL import Image

from workbench.core.project import load_project
from workbench.paths import EXAMPLES
from workbench.training.evaluation import Evaluation
from workbench.training.events import EventLog
from workbench.training.session import prepare
from workbench.training.telemetry import Telemetry

CLASSES = 10
PER_CLASS = 24


def write_image_folder(root, size, mode, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    for label in range(CLASSES):
        folder = root / f"class_{label}"
        folder.mkdir(parents=True)
        angle = np.pi * label / CLASSES
        waves = 2 + label % 3
        tint = np.array([1.0, 0.4 + 0.06 * label, 1.0 - 0.08 * label])
        for i in range(PER_CLASS):
            phase = rng.uniform(0, 2 * np.pi)
            stripes = np.sin(2 * np.pi * waves * (xx * np.cos(angle) + yy * np.sin(angle)) + phase)
            grey = 0.5 + 0.4 * stripes + rng.normal(0, 0.1, (size, size))
            pixels = np.clip(grey[..., None] * tint * 255, 0, 255).astype(np.uint8)
            Image.fromarray(pixels).convert(mode).save(folder / f"{i}.png")
    return root


@pytest.mark.parametrize(
    "name, size, mode, epochs, batch_size",
    [
        ("mnist_cnn", 28, "L", 3, 32),
        ("cifar_resnet_block", 32, "RGB", 3, 32),
        # the cached "imagenet" weights are random here, so the head needs more steps
        ("transfer_resnet18", 64, "RGB", 6, 16),
    ],
)
def test_example_trains_on_generated_image_files(name, size, mode, epochs, batch_size, tmp_path, monkeypatch, resnet18_torch_home):
    monkeypatch.setenv("TORCH_HOME", str(resnet18_torch_home))
    project = load_project(EXAMPLES / f"{name}.wbproj")
    assert project.data["source"] in ("torchvision", "mnist_sample")
    if name == "transfer_resnet18":  # the transfer set-up its description names: cached ImageNet weights, frozen
        project.graph.set_params("backbone", {**project.graph.node("backbone").params, "weights": "imagenet",
                                              "trainable": False})
    folder = write_image_folder(tmp_path / "images", size, mode)
    project.data = {"source": "image_folder", "params": {"path": str(folder)}, "val_fraction": 0.25, "augment": []}
    log = EventLog()  # with the callbacks a GUI run has: graph telemetry and evaluation
    session = prepare(project, overrides={"epochs": epochs, "device": "cpu", "batch_size": batch_size},
                      runs_dir=tmp_path / "runs", callbacks=[log, Telemetry(every=5), Evaluation()])
    result = session.fit()
    assert result.state == "completed", result.message
    assert result.metrics["val_accuracy"] >= 0.3, result.metrics  # chance is 0.1
    assert log.of("telemetry") and not any(ev["nonfinite"] for ev in log.of("telemetry"))
    last = log.of("evaluation")[-1]
    assert len(log.of("evaluation")) == epochs and sum(map(sum, last["matrix"])) == len(session.trainer.bundle.val)
