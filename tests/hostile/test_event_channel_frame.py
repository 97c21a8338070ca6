"""The run frame the GUI sends a training child is unpickled through an allow-list: Trainer
callbacks of our packages and plain containers, never an arbitrary global (DESIGN.md §9)."""

import io
import os
import pickle

import pytest

from workbench.training.event_channel import ChannelError, _CallbackUnpickler
from workbench.training.evaluation import Evaluation
from workbench.training.telemetry import Telemetry


def load(obj):
    return _CallbackUnpickler(io.BytesIO(pickle.dumps(obj))).load()


def test_callbacks_and_the_spec_come_through():
    message = load({"spec": {"epochs": 2, "ids": {1, 2}}, "callbacks": [Telemetry(sample=False), Evaluation()]})
    assert message["spec"] == {"epochs": 2, "ids": {1, 2}}
    assert [type(c) for c in message["callbacks"]] == [Telemetry, Evaluation]


@pytest.mark.parametrize("payload", [os.system, eval, pickle.loads, ChannelError, print])
def test_any_other_global_is_refused(payload):
    with pytest.raises(ChannelError, match="not a training callback"):
        load({"spec": {}, "callbacks": [payload]})
