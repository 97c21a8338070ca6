"""The Training dock's fields for large models: objective, max steps, validation every N
steps, gradient accumulation, activation checkpointing and torch.compile."""

from __future__ import annotations

from tests.gui.test_settings_panels import choose, panels, type_into
from workbench.training.config import parse_config


def test_editing_the_large_model_options_updates_the_training_section(qtbot, window):
    train, _ = panels(window)
    doc = window.document
    training = lambda: doc.project.training  # noqa: E731 - the section is replaced by each edit
    type_into(qtbot, train.widgets["max_steps"], "500")
    assert training()["max_steps"] == 500
    train.widgets["eval_every"].setValue(50)
    train.widgets["accumulate_steps"].setValue(4)
    train.widgets["activation_checkpointing"].setChecked(True)
    choose(train.widgets["compile"], "inductor")
    choose(train.widgets["objective"], "causal_lm")
    t = training()
    assert (t["eval_every"], t["accumulate_steps"], t["activation_checkpointing"], t["compile"], t["objective"]) == (
        50, 4, True, "inductor", "causal_lm")
    cfg = parse_config(t)
    assert (cfg.max_steps, cfg.eval_every, cfg.accumulate_steps, cfg.compile) == (500, 50, 4, "inductor")

    # back to the defaults: the keys leave the project
    train.widgets["max_steps"].setValue(0)
    train.widgets["eval_every"].setValue(0)
    train.widgets["accumulate_steps"].setValue(1)
    train.widgets["activation_checkpointing"].setChecked(False)
    choose(train.widgets["compile"], "off")
    choose(train.widgets["objective"], "auto")
    assert not {"max_steps", "eval_every", "accumulate_steps", "activation_checkpointing", "compile",
                "objective"} & set(training())
    assert train.widgets["max_steps"].text() == "off"

    # undo walks back through the edits and the fields follow
    for _ in range(6):
        doc.undo_stack.undo()
    assert training()["compile"] == "inductor" and train.widgets["compile"].currentText() == "inductor"
    assert train.widgets["max_steps"].value() == 500 and train.widgets["eval_every"].value() == 50
    assert train.widgets["activation_checkpointing"].isChecked()


def test_a_project_with_the_options_shows_them(make_window):
    from tests.gui.conftest import SMALL

    project = {**SMALL, "training": {**SMALL.get("training", {}), "compile": True, "max_steps": 7,
                                     "accumulate_steps": 3}}
    window = make_window(project)
    train, _ = panels(window)
    assert train.widgets["compile"].currentText() == "inductor"
    assert train.widgets["max_steps"].value() == 7 and train.widgets["accumulate_steps"].value() == 3
    assert train.widgets["eval_every"].text() == "off" and train.widgets["objective"].currentText() == "auto"


def test_a_run_validating_every_n_steps_plots_validation_at_its_steps(qtbot, make_window, runs_dir):
    from tests.gui.test_training_dashboard import click, dashboard_of, moons

    project = moons(epochs=1)
    project["training"].update(eval_every=50, max_steps=150)  # 200 steps an epoch: validations at 50, 100, 150
    window = make_window(project)
    dash = dashboard_of(window)
    click(dash.train_button)
    qtbot.waitUntil(lambda: not dash.active, timeout=30000)
    assert dash.state == "completed", dash.message.text()
    plots = dash.plots
    assert plots.by_step and "Loss per step" in plots.epoch_plot.getPlotItem().titleLabel.text
    assert list(plots.val_loss.x) == [50, 100, 150] and list(plots.metric_values.x) == [50, 100, 150]
    assert list(plots.train_loss.x) == [150]  # the (partial) epoch's mean, at its last step
    assert len(plots.val_curve.getOriginalDataset()[0]) == 3
    hover = plots.readout(plots.epoch_plot, 100)
    assert hover.splitlines()[0] == "step 100" and "val " in hover and "(step 150)" in hover  # train: epoch end
    assert dash.progress.maximum() == 150 and dash.progress.value() == 150


def test_a_language_model_run_shows_perplexity(qtbot, make_window):
    from tests.gui.test_training_dashboard import dashboard_of
    from tests.training.test_lm_options import lm_trainer
    from workbench.training.events import EventLog

    log = EventLog()
    assert lm_trainer({"epochs": 2}, callbacks=[log]).fit().state == "completed"
    dash = dashboard_of(make_window())
    plots = dash.ensure_plots()
    for ev in log.events:  # the events of a real run, as the dashboard's timer hands them over
        dash._apply(ev)
    plots.flush()
    assert dash.metric_key == "val_perplexity"
    assert plots.metric_plot.getPlotItem().titleLabel.text == "Validation perplexity"
    assert plots.metric_plot.getPlotItem().getAxis("left").logMode  # perplexity spans decades
    assert dash.table.horizontalHeaderItem(3).text() == "val perplexity"
    assert list(plots.metric_values.y) == [e["val_perplexity"] for e in log.of("epoch")]
    assert not plots.by_step and list(plots.val_loss.x) == [1, 2]
