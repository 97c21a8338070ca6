"""Recurrent layers over [N, T, F] sequences: RNN, LSTM and GRU (batch first).

All three build one wrapper, `workbench.core.modules.recurrent.Recurrent`, that returns a single tensor: the whole output
sequence, or (`output="last"`) the last layer's final hidden state, so a classifier can
follow directly with a Linear.
"""

from __future__ import annotations

from workbench.core.catalog import Constructor, LayerSpec
from workbench.core.params import BOOL, CHOICE, FLOAT, INT, Param, ParamError
from workbench.core.tensors import ShapeError, TensorInfo, require_float


_GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}


def require_sequence(layer, x, feature="F", steps="T"):
    """Float [N, T, F] or a ShapeError that says how to get there."""
    require_float(layer, x)
    if x.rank == 3:
        return
    if x.rank == 4:
        hint = "insert Flatten (start_dim=2) then Transpose (1, 2) to turn [N, C, H, W] into [N, H·W, C]"
    else:
        hint = f"insert Reshape to [{steps}, {feature}] first"
    raise ShapeError(f"{layer} expects [N, {steps}, {feature}] but gets {x}: {hint}")


def _check(p):
    if p["dropout"] > 0 and p["num_layers"] < 2:
        raise ParamError(
            "dropout", "is applied between stacked layers only: set num_layers to 2 or more, or dropout to 0"
        )


def _spec(kind, doc):
    def infer(inputs, p):
        (x,) = inputs
        require_sequence(kind, x)
        width = p["hidden_size"] * (2 if p["bidirectional"] else 1)
        if p["output"] == "last":
            return [TensorInfo((width,))]
        return [TensorInfo((x.shape[0], width))]

    def flops(inputs, outputs, p):
        # Per layer, direction and time step: the input projection [in] x [G*H] and the
        # hidden projection [H] x [G*H] (G gates). Layers after the first read the
        # previous layer's H * D outputs. FlopCounterMode sees exactly these mm/addmm on
        # torch's decomposed path; the fused CPU LSTM kernel (oneDNN) and cuDNN are opaque
        # to it and count 0, so the tests count LSTM with oneDNN disabled.
        steps, features = inputs[0].shape
        hidden, gates = p["hidden_size"], _GATES[kind]
        directions = 2 if p["bidirectional"] else 1
        total = 0
        for layer in range(p["num_layers"]):
            width = features if layer == 0 else hidden * directions
            total += directions * steps * 2 * (width + hidden) * gates * hidden
        return total

    def construct(inputs, p):
        kwargs = {
            "kind": kind,
            "input_size": inputs[0].shape[-1],
            "hidden_size": p["hidden_size"],
            "num_layers": p["num_layers"],
            "bias": p["bias"],
            "bidirectional": p["bidirectional"],
            "dropout": p["dropout"],
            "output": p["output"],
        }
        if kind == "RNN":
            kwargs["nonlinearity"] = p["nonlinearity"]
        return Constructor("workbench.core.modules.recurrent.Recurrent", kwargs)

    params = [
        Param("hidden_size", INT, 64, "Features in the hidden state (per direction)", min=1, max=65_536),
        Param("num_layers", INT, 1, "Recurrent layers stacked on each other", min=1, max=64),
    ]
    if kind == "RNN":
        params.append(
            Param("nonlinearity", CHOICE, "tanh", "Activation of the hidden state update", choices=("tanh", "relu"))
        )
    params += [
        Param("bias", BOOL, True, "Learn input and hidden biases"),
        Param("dropout", FLOAT, 0.0, "Dropout between stacked layers (needs num_layers ≥ 2)", min=0.0, max=1.0),
        Param("bidirectional", BOOL, False, "Also read the sequence backwards; doubles the output features"),
        Param(
            "output",
            CHOICE,
            "sequence",
            "sequence: every step [N, T, H·D]; last: the final hidden state [N, H·D], e.g. for a classifier",
            choices=("sequence", "last"),
        ),
    ]
    return LayerSpec(
        name=kind,
        category="recurrent",
        doc=doc,
        params=tuple(params),
        construct=construct,
        infer=infer,
        flops=flops,
        check=_check,
    )


RNN = _spec("RNN", "Simple (Elman) recurrent layer over [N, T, F]; returns every step or just the last hidden state.")
LSTM = _spec("LSTM", "Long short-term memory over [N, T, F]; returns every step or just the last hidden state.")
GRU = _spec("GRU", "Gated recurrent unit over [N, T, F]; returns every step or just the last hidden state.")

SPECS = (RNN, LSTM, GRU)
