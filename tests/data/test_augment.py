"""Augmentation: training split only, reproducible per (seed, epoch, index)."""

from __future__ import annotations

import pickle

import pytest
import torch

from tests.data.makers import IMAGE_8
from workbench.core.tensors import TensorInfo
from workbench.data import DataError, load_data
from workbench.data.augment import AugmentedSet

IMAGE_AUGMENT = [
    {"type": "random_crop", "padding": 2},
    {"type": "horizontal_flip", "p": 0.5},
    {"type": "rotation", "degrees": 10},
    {"type": "color_jitter", "brightness": 0.3, "contrast": 0.3},
]
WAVE = {"wave": TensorInfo((1, 256))}
WAVE_AUGMENT = [{"type": "time_shift", "max": 0.2}, {"type": "noise", "snr": 10}, {"type": "gain", "min_db": -6, "max_db": 6}]


def digits(augment, seed=0, **section):
    return load_data({"source": "digits", "augment": augment, **section}, IMAGE_8, seed, ".")


def waves(augment, seed=0):
    section = {"source": "synthetic", "params": {"kind": "waveforms", "n": 16, "sample_rate": 8000}, "augment": augment}
    return load_data(section, WAVE, seed, ".")


def test_images_change_in_training_only_and_tensors_are_withdrawn():
    plain, augmented = digits([]), digits(IMAGE_AUGMENT)
    assert isinstance(augmented.train, AugmentedSet)
    assert augmented.train_tensors is None and augmented.val_tensors is None
    (x_plain,), _ = plain.train_tensors
    changed = sum(not torch.equal(augmented.train[i][0][0], x_plain[i]) for i in range(20))
    assert changed >= 15
    for i in range(10):
        assert torch.equal(augmented.val[i][0][0], plain.val[i][0][0])
        assert torch.equal(augmented.train[i][1], plain.train[i][1])  # labels untouched
    assert augmented.train[0][0][0].shape == (1, 8, 8)
    assert augmented.extra["augment"] == ["random_crop", "horizontal_flip", "rotation", "color_jitter"]


def test_same_seed_epoch_and_index_give_the_same_item():
    a, b = digits(IMAGE_AUGMENT), digits(IMAGE_AUGMENT)
    first = [a.train[i][0][0] for i in range(8)]
    assert all(torch.equal(x, b.train[i][0][0]) for i, x in enumerate(first))
    assert all(torch.equal(x, a.train[i][0][0]) for i, x in enumerate(first))  # asking again
    torch.manual_seed(123)  # the global generator does not matter...
    assert torch.equal(first[0], a.train[0][0][0])
    before = torch.random.get_rng_state()
    a.train[1]
    assert torch.equal(before, torch.random.get_rng_state())  # ...and is left as it was
    a.train.set_epoch(1)
    assert sum(not torch.equal(x, a.train[i][0][0]) for i, x in enumerate(first)) >= 6
    copy = pickle.loads(pickle.dumps(a.train))  # what a DataLoader worker gets
    assert torch.equal(copy[3][0][0], a.train[3][0][0])


def test_colour_jitter_works_on_pixel_values_not_standardised_ones():
    bundle = digits([{"type": "color_jitter", "brightness": 0.5}])
    mean, std = bundle.extra["mean"][0], bundle.extra["std"][0]
    for i in range(10):
        pixels = bundle.train[i][0][0] * std + mean
        assert float(pixels.min()) >= -1e-5 and float(pixels.max()) <= 1 + 1e-5
    assert float(pixels.min()) < 0.05  # black background kept, not clamped to the mean


def test_cifar_style_names_are_accepted():
    bundle = digits([{"type": "RandomCrop", "size": 8, "padding": 1}, {"type": "RandomHorizontalFlip"}])
    assert bundle.extra["augment"] == ["random_crop", "horizontal_flip"]


def test_audio_augmentations():
    plain, augmented = waves([]), waves(WAVE_AUGMENT)
    x = plain.train[0][0][0]
    y = augmented.train[0][0][0]
    assert y.shape == x.shape == (1, 256) and not torch.equal(x, y)
    assert torch.equal(augmented.train[0][0][0], y)
    assert torch.equal(augmented.val[0][0][0], plain.val[0][0][0])


def test_time_shift_moves_and_zero_fills():
    bundle = waves([{"type": "time_shift", "max": 0.5}])
    base = waves([])
    for i in range(6):
        x, y = base.train[i][0][0][0], bundle.train[i][0][0][0]
        shift = next(s for s in range(-128, 129) if torch.equal(y, _shifted(x, s)))
        assert abs(shift) <= 128


def _shifted(x, s):
    out = torch.zeros_like(x)
    if s >= 0:
        out[s:] = x[: len(x) - s]
    else:
        out[:s] = x[-s:]
    return out


def test_reconstruction_target_is_the_augmented_input():
    bundle = digits([{"type": "horizontal_flip", "p": 1.0}], target="input")
    (x,), target = bundle.train[0]
    assert torch.equal(x, target)


@pytest.mark.parametrize(
    "augment, message",
    [
        ({"type": "flip"}, "data.augment must be a list"),
        ([{"type": "mixup"}], r"data.augment\[0\].type 'mixup' is not a known augmentation; choose one of random_crop"),
        (["flip"], r'data.augment\[0\] must be an object with a "type"'),
        ([{"type": "rotation", "degrees": 400}], r"data.augment\[0\].degrees must be at most 180"),
        ([{"type": "flip"}, {"type": "flip", "prob": 1}], r"data.augment\[1\].prob is not a parameter of the horizontal_flip augmentation"),
        ([{"type": "noise", "snr": 10, "std": 0.1}], r"data.augment\[0\].std and snr both set"),
        ([{"type": "gain", "min_db": 3, "max_db": -3}], r"data.augment\[0\].min_db \(3.0\) must not exceed max_db"),
        ([{"type": "time_shift"}], r"data.augment\[0\] time_shift applies to waveforms, but digits gives images \[1, 8, 8\]"),
        ([{"type": "random_crop", "size": 6}], r"random_crop size \[6, 6\] would change the 8x8 images"),
    ],
)
def test_augment_errors(augment, message):
    with pytest.raises(DataError, match=message):
        digits(augment)


def test_image_augmentation_refused_for_tokens():
    section = {"source": "synthetic", "params": {"kind": "sequences", "n": 10}, "augment": [{"type": "rotation"}]}
    with pytest.raises(DataError, match="rotation applies to images, but synthetic sequences gives tokens"):
        load_data(section, {}, 0, ".")


def test_set_epoch_reaches_persistent_dataloader_workers():
    from torch.utils.data import DataLoader

    bundle = digits([{"type": "random_crop", "padding": 2}], val_fraction=0.97)
    loader = DataLoader(bundle.train, batch_size=64, num_workers=1, persistent_workers=True)

    def epoch(e):
        bundle.train.set_epoch(e)
        return torch.cat([xs[0] for xs, _ in loader])

    first, second, first_again = epoch(0), epoch(1), epoch(0)
    assert not torch.equal(first, second) and torch.equal(first, first_again)
    expected = torch.stack([bundle.train[i][0][0] for i in range(len(bundle.train))])
    assert torch.equal(first, expected)
