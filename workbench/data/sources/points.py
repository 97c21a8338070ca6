"""2-D point clouds (`moons`, `circles`, `spirals`: classification, features [2]) and the
`sine` regression ([1] -> [1]). Classes are balanced: sample i belongs to class i % k.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from workbench.data.request import Generated


def _features(points: np.ndarray, labels: np.ndarray, classes: list[str], description: str) -> Generated:
    return Generated(
        inputs=(torch.from_numpy(points.astype(np.float32)),),
        target=torch.from_numpy(labels.astype(np.int64)),
        task="classification",
        names=("features",),
        modality="features",
        classes=classes,
        description=description,
    )


def moons(request, params, rng: np.random.Generator, n: int) -> Generated:
    """Two interleaving half circles (as scikit-learn's make_moons), Gaussian noise."""
    noise = params.float("noise", 0.1, minimum=0.0)
    labels = np.arange(n) % 2
    t = rng.uniform(0.0, math.pi, n)
    x = np.where(labels == 0, np.cos(t), 1.0 - np.cos(t))
    y = np.where(labels == 0, np.sin(t), 0.5 - np.sin(t))
    points = np.stack([x, y], axis=1) + rng.normal(0.0, noise, (n, 2))
    return _features(points, labels, ["upper moon", "lower moon"], f"two moons, {n} points, noise {noise}")


def circles(request, params, rng: np.random.Generator, n: int) -> Generated:
    """A small circle inside a large one; `factor` is the inner radius (outer is 1)."""
    noise = params.float("noise", 0.05, minimum=0.0)
    factor = params.float("factor", 0.5, minimum=0.0, maximum=1.0)
    labels = np.arange(n) % 2
    t = rng.uniform(0.0, 2 * math.pi, n)
    radius = np.where(labels == 0, 1.0, factor)
    points = np.stack([radius * np.cos(t), radius * np.sin(t)], axis=1) + rng.normal(0.0, noise, (n, 2))
    return _features(points, labels, ["outer circle", "inner circle"], f"two circles, {n} points, noise {noise}")


def spirals(request, params, rng: np.random.Generator, n: int) -> Generated:
    """`classes` interleaved spiral arms of `turns` turns each, inside the unit disc."""
    noise = params.float("noise", 0.05, minimum=0.0)
    k = params.int("classes", 2, minimum=2, maximum=10)
    turns = params.float("turns", 1.0, minimum=0.1, maximum=5.0)
    labels = np.arange(n) % k
    r = rng.uniform(0.05, 1.0, n)
    theta = labels * (2 * math.pi / k) + r * turns * 2 * math.pi
    points = np.stack([r * np.sin(theta), r * np.cos(theta)], axis=1) + rng.normal(0.0, noise, (n, 2))
    return _features(points, labels, [f"arm {i}" for i in range(k)], f"{k} spirals, {n} points, noise {noise}")


def sine(request, params, rng: np.random.Generator, n: int) -> Generated:
    """x uniform in [-pi, pi] -> sin(x) plus Gaussian noise; features [1], targets [1]."""
    noise = params.float("noise", 0.1, minimum=0.0)
    x = rng.uniform(-math.pi, math.pi, (n, 1))
    y = np.sin(x) + rng.normal(0.0, noise, (n, 1))
    return Generated(
        inputs=(torch.from_numpy(x.astype(np.float32)),),
        target=torch.from_numpy(y.astype(np.float32)),
        task="regression",
        names=("x",),
        modality="features",
        description=f"y = sin(x) + noise {noise}, {n} samples",
    )
