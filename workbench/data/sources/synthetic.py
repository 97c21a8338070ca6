"""`synthetic`: data generated on the fly from the seed, so every example trains offline.

params.kind picks the generator; params.n (samples, default 2000; 1000 for waveforms) and
each kind's own parameters are listed in KINDS. The same seed gives identical tensors.
"""

from __future__ import annotations

import math

import numpy as np

from workbench.data.bundle import DataBundle
from workbench.data.request import Request, tensor_bundle
from workbench.data.sources import points, shapes, tokens, waveforms
from workbench.data.sources.memory import require_fits
from workbench.data.splits import split_tensors

# kind -> (generator, its parameters besides kind and n, default n)
KINDS = {
    "moons": (points.moons, {"noise"}, 2000),
    "circles": (points.circles, {"noise", "factor"}, 2000),
    "spirals": (points.spirals, {"noise", "classes", "turns"}, 2000),
    "sine": (points.sine, {"noise"}, 2000),
    "waveforms": (waveforms.generate, {"sample_rate", "min_freq", "max_freq", "noise"}, 1000),
    "shapes": (shapes.generate, {"noise"}, 2000),
    "sequences": (tokens.sequences, {"vocab", "rule"}, 2000),
    "copy": (tokens.copy_task, {"vocab", "length", "min_length"}, 2000),
    "reverse": (tokens.reverse_task, {"vocab", "length", "min_length"}, 2000),
}


def load(request: Request) -> DataBundle:
    params = request.params
    kind = params.str("kind", choices=list(KINDS))
    generate, known, default_n = KINDS[kind]
    params.check_known({"kind", "n", *known})
    n = params.int("n", default_n, minimum=2)
    require_fits(n, _sample_bytes(request), f"synthetic {kind} samples")
    rng = np.random.default_rng(request.seed)
    made = generate(request, params, rng, n)
    train, val = split_tensors(made.inputs, made.target, request.val_fraction, request.seed)
    return tensor_bundle(
        train,
        val,
        task=made.task,
        names=made.names,
        source=f"synthetic {kind}",
        modality=made.modality,
        classes=made.classes,
        description=made.description,
        extra=made.extra,
    )


def _sample_bytes(request: Request) -> int:
    """One sample as the generators build it: the graph's Inputs (at least the two point
    coordinates) and a target, as float64 / int64 values."""
    elements = sum(math.prod(info.shape) for info in request.inputs.values())
    return 8 * (max(elements, 2) + 1)
