"""Sampling: greedy is argmax, the cuts keep only the tokens they should, a seed repeats."""

from __future__ import annotations

import pytest
import torch

from workbench.inference.sampling import Sampling, SamplingError, next_token


def draws(logits, sampling, n=400):
    generator = sampling.generator()
    return [next_token(logits, sampling, generator) for _ in range(n)]


def test_greedy_is_argmax():
    logits = torch.tensor([0.1, 3.0, 2.9, -1.0])
    assert set(draws(logits, Sampling(temperature=0), 20)) == {1}


def test_top_k_keeps_only_the_k_likeliest():
    logits = torch.tensor([5.0, 4.0, 3.0, 2.0, 1.0, 0.0])
    assert set(draws(logits, Sampling(temperature=5.0, top_k=2, top_p=None))) == {0, 1}


def test_top_p_keeps_the_smallest_set_with_that_mass():
    probs = torch.tensor([0.5, 0.3, 0.15, 0.05])
    got = set(draws(probs.log(), Sampling(temperature=1.0, top_k=None, top_p=0.7)))
    assert got == {0, 1}  # 0.5 alone is under 0.7; 0.5 + 0.3 reaches it
    assert set(draws(probs.log(), Sampling(temperature=1.0, top_k=None, top_p=0.01))) == {0}


def test_temperature_spreads_and_sharpens():
    logits = torch.tensor([1.0, 0.0, 0.0, 0.0])
    hot = draws(logits, Sampling(temperature=50.0, top_k=None, top_p=None))
    cold = draws(logits, Sampling(temperature=0.05, top_k=None, top_p=None))
    assert len(set(hot)) == 4 and set(cold) == {0}


def test_a_seed_repeats_and_another_differs():
    logits = torch.zeros(50)
    one = Sampling(temperature=1.0, top_k=None, top_p=None, seed=3)
    assert draws(logits, one, 30) == draws(logits, one, 30)
    assert draws(logits, one, 30) != draws(logits, Sampling(temperature=1.0, top_k=None, top_p=None, seed=4), 30)


@pytest.mark.parametrize("bad", [dict(temperature=-1), dict(top_k=-2), dict(top_p=0), dict(top_p=1.5)])
def test_out_of_range_settings_are_refused(bad):
    with pytest.raises(SamplingError):
        Sampling(**bad)
