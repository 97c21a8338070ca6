"""What an audio model hears: the waveform it was given, through the graph's own mel front end.

The Try-it dock shows the spectrogram next to the waveform. It is computed with the
first MelSpectrogram node's resolved parameters (the very module the graph builds), so
what is drawn is what the next layer receives, in dB for the eye. Nothing here imports Qt.
"""

from __future__ import annotations

import numpy as np

__all__ = ["first_mel_node", "mel_spectrogram"]

MAX_FRAMES = 4096  # a longer clip is drawn from its start


def first_mel_node(graph, result) -> tuple[dict, list] | None:
    """(resolved params, input infos) of the first MelSpectrogram node in forward order, or None."""
    mels = {node.id: node for node in graph if node.type == "MelSpectrogram"}
    for node_id in result.order:
        if node_id in mels and node_id in result.resolved:
            edges = graph.in_edges(node_id)
            infos = [result.outputs[e.source][e.source_port] for e in edges if e.source in result.outputs]
            return dict(result.resolved[node_id]), infos
    return None


def mel_spectrogram(waveform, mel: tuple[dict, list]) -> np.ndarray:
    """[n_mels, frames] in dB (10·log10 of the power, floored 80 dB under the peak) of a waveform [C, S]."""
    import torch

    from workbench.core.catalog import default_catalog

    params, infos = mel
    module = default_catalog().get("MelSpectrogram").build(infos, params)
    with torch.inference_mode():
        x = torch.as_tensor(waveform, dtype=torch.float32)
        power = module(x.reshape(-1, x.shape[-1])[0])  # the first channel: [n_mels, frames]
    db = 10.0 * torch.log10(power.clamp_min(1e-10))
    db = torch.maximum(db, db.max() - 80.0)
    return db[:, :MAX_FRAMES].double().numpy()
