"""Every example project trains headless on its offline data and clearly beats chance, with
the callbacks the GUI attaches to a run (graph telemetry, evaluation) reporting on the way."""

import json
import time

import pytest

from workbench.core.project import load_project
from workbench.paths import EXAMPLES, examples
from workbench.training.evaluation import Evaluation, evaluation_task
from workbench.training.events import EventLog
from workbench.training.session import prepare
from workbench.training.telemetry import Telemetry

# enough epochs to clear the bar on two loaded CPU cores, not the examples' full schedules
EPOCHS = {"tabular_mlp": 3, "lstm_text_classifier": 3, "transformer_text_classifier": 3, "seq2seq_transformer": 4,
          "autoencoder": 5}
# the language models train by a step budget: a few dozen small steps clear the bar (their own
# tests in tests/inference hold them to the unigram baseline)
OVERRIDES = {name: {"max_steps": 30, "batch_size": 8} for name in ("gpt_char", "gpt_bpe")}
# image sets (downloaded, or the bundled MNIST sample, whose full epoch is slow here): test_examples_on_image_files.py
# trains them on generated files, test_examples_offline.py on their own data for a few steps
ON_IMAGE_FILES = ("mnist_cnn", "cifar_resnet_block", "transfer_resnet18")


def fit_example(name, tmp_path, epochs, callbacks=()):
    project = load_project(EXAMPLES / f"{name}.wbproj")
    overrides = {"epochs": epochs, "device": "cpu", **OVERRIDES.get(name, {})}
    session = prepare(project, overrides=overrides, runs_dir=tmp_path, callbacks=callbacks)
    return session, session.fit()


@pytest.mark.parametrize("name", [p.stem for p in examples() if p.stem not in ("digits_cnn", *ON_IMAGE_FILES)])
def test_example_beats_chance(name, tmp_path):
    log = EventLog()
    session, result = fit_example(name, tmp_path, EPOCHS.get(name, 1), [log, Telemetry(every=5), Evaluation()])
    assert result.state == "completed", result.message
    telemetry = log.of("telemetry")
    assert telemetry and all(not ev["nonfinite"] for ev in telemetry)
    assert set(telemetry[-1]["nodes"]) <= set(session.project.graph.nodes)
    evaluations = log.of("evaluation")
    if evaluation_task(session.trainer.objective, session.trainer.bundle.task):
        assert len(evaluations) == EPOCHS.get(name, 1) and (session.run_dir / "evaluation.json").is_file()
    else:  # sequence and reconstruction tasks get none
        assert not evaluations
    json.dumps(telemetry + evaluations)  # the events cross threads and processes as JSON
    m = result.metrics
    bundle = session.trainer.bundle
    if bundle.task in ("classification", "sequence"):
        lm = session.trainer.objective.causal_lm
        chance = 1 / (bundle.extra["vocab_size"] if lm else bundle.num_classes)
        accuracy = m["val_token_accuracy"] if lm else m["val_accuracy"]
        assert accuracy >= min(3 * chance, chance + 0.25, 0.95), m
    else:  # regression / reconstruction: well under the error of always predicting the mean
        (_, train_target), (_, val_target) = bundle.train_tensors, bundle.val_tensors
        baseline = (val_target - train_target.float().mean(0)).square().mean().item()
        assert session.config.loss["type"] == "MSELoss" and m["val_loss"] < 0.5 * baseline, (m, baseline)


def test_digits_cnn_reaches_95_percent_in_10_epochs_within_a_minute(tmp_path):
    started = time.perf_counter()
    session, result = fit_example("digits_cnn", tmp_path, 10)
    seconds = time.perf_counter() - started
    assert result.state == "completed", result.message
    assert result.metrics["val_accuracy"] >= 0.95, result.metrics
    assert seconds < 60
