"""Short texts shown on a node: its key parameters and its parameter count."""

from __future__ import annotations

from typing import Any

# how a parameter is abbreviated on a node; "" shows the bare value
_SHORT = {
    "out_channels": "",
    "out_features": "",
    "kernel_size": "",
    "stride": "stride ",
    "padding": "pad ",
    "hidden_size": "hidden ",
    "num_layers": "layers ",
    "nhead": "heads ",
    "num_heads": "heads ",
    "dim_feedforward": "ff ",
    "p": "p=",
    "dropout": "dropout ",
    "mode": "",
    "kind": "",
    "output_size": "→ ",
    "negative_slope": "slope ",
    "n_mels": "mels ",
    "n_mfcc": "mfcc ",
    "num_groups": "groups ",
    "weights": "weights: ",
    "output": "",
}

# the parameters worth showing first, per layer family (others: explicit params in order)
_KEY = {
    "Input": ("shape", "dtype"),
    "Linear": ("out_features",),
    "Conv1d": ("out_channels", "kernel_size", "stride"),
    "Conv2d": ("out_channels", "kernel_size", "stride"),
    "ConvTranspose2d": ("out_channels", "kernel_size", "stride"),
    "Embedding": ("num_embeddings", "embedding_dim"),
    "RNN": ("hidden_size", "num_layers"),
    "LSTM": ("hidden_size", "num_layers"),
    "GRU": ("hidden_size", "num_layers"),
    "TransformerEncoder": ("num_layers", "nhead"),
    "TransformerEncoderLayer": ("nhead", "dim_feedforward"),
    "TransformerDecoderLayer": ("nhead", "dim_feedforward"),
    "Dropout": ("p",),
    "Dropout2d": ("p",),
}


def fmt_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return "×".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def key_params(type_name: str, params: dict, resolved: dict | None) -> str:
    """1–3 of the node's most telling parameters, e.g. `32, 3×3, stride 2`."""
    values = dict(resolved or {})
    values.update({k: v for k, v in params.items() if k not in values})
    if type_name == "Input":
        shape = values.get("shape", params.get("shape"))
        dtype = values.get("dtype", "float32")
        text = "[" + ", ".join(str(v) for v in shape) + "]" if isinstance(shape, (list, tuple)) else str(shape)
        return f"{text} {dtype}" if dtype != "float32" else text
    if type_name == "Block":
        return str(params.get("block", ""))
    if type_name == "Embedding":
        if "num_embeddings" in values and "embedding_dim" in values:
            return f"{values['num_embeddings']} tokens → {values['embedding_dim']}"
    names = list(_KEY.get(type_name, ()))
    names += [n for n in params if n not in names]
    parts = []
    for name in names:
        if name not in values:
            continue
        value = values[name]
        if name == "stride" and value in (1, (1, 1), [1, 1], None):
            continue
        if isinstance(value, bool) or value is None:
            continue
        if name == "kernel_size" and isinstance(value, int):
            value = (value, value) if type_name.endswith("2d") else value
        short = _SHORT.get(name, f"{name}=")
        text = f"{short}{fmt_value(value)}"
        if name == "out_channels":
            text += " ch"
        elif name == "out_features":
            text += " features"
        parts.append(text)
        if len(parts) == 3:
            break
    return ", ".join(parts)


def fmt_count(n: int | None) -> str:
    """1234567 -> '1.23M'."""
    if n is None:
        return ""
    for div, suffix in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if n >= div:
            value = n / div
            return f"{value:.3g}{suffix}"
    return str(n)


def params_label(n: int | None) -> str:
    if not n:
        return ""
    return f"{fmt_count(n)} params"
