"""The audio (torchaudio) and vision backbone (torchvision) layer families."""

from __future__ import annotations

import builtins
import dis
import inspect
import json
import math
import os
import warnings

import pytest
import torch
import torch.nn.functional as F
import torchaudio
import torchvision
from torch import nn

from tests.core.layer_checks import assert_layer_matches
from workbench.core.catalog import default_catalog
from workbench.core.layers.vision_backbones import FEATURES
from workbench.core.modules.backbones import Backbone, cached_weights_path, count_flops
from workbench.core.params import ParamError
from workbench.core.tensors import INT, ShapeError, TensorInfo

BATCHES = (1, 2)
ARCHS = ("resnet18", "resnet34", "resnet50", "mobilenet_v3_small", "efficientnet_b0")


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny forwards run fastest on one thread; on a busy 2-core runner two OpenMP threads
    spin against each other and a 33×17 MobileNet forward takes seconds instead of 20 ms."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def spec(name):
    return default_catalog().get(name)


def infer(name, params, shape, dtype="float32"):
    s = spec(name)
    return s.infer([TensorInfo(shape, dtype)], s.resolve(params))


# --- audio: shapes and FLOPs against torchaudio -------------------------------------


@pytest.mark.parametrize(
    "params, shape",
    [
        ({}, (1, 16000)),
        ({}, (4000,)),
        ({}, (1, 201)),  # the shortest input with center=True: n_fft // 2 + 1
        ({"center": False}, (2, 400)),  # the shortest without centring: n_fft
        ({"n_fft": 512, "hop_length": 128}, (2, 3000)),
        ({"n_fft": 512, "win_length": 256}, (1, 2999)),
        ({"n_fft": 63, "win_length": 20, "hop_length": 7, "center": False}, (3, 500)),
        ({"power": 1.0, "normalized": True}, (1, 1601)),
        ({"n_fft": 2, "hop_length": 1}, (1, 10)),
    ],
)
def test_spectrogram_matches_torchaudio(params, shape):
    assert_layer_matches("Spectrogram", params, [TensorInfo(shape)], batches=BATCHES)


@pytest.mark.parametrize(
    "params, shape",
    [
        ({}, (1, 16000)),
        ({}, (2, 201)),
        ({"n_fft": 512, "hop_length": 160, "n_mels": 40, "f_min": 20.0, "f_max": 7600.0}, (2, 8000)),
        ({"sample_rate": 22050, "n_fft": 1024, "n_mels": 128, "power": 1.0}, (22050,)),
        ({"center": False, "win_length": 300, "hop_length": 100}, (1, 1000)),
    ],
)
def test_mel_spectrogram_matches_torchaudio(params, shape):
    assert_layer_matches("MelSpectrogram", params, [TensorInfo(shape)], batches=BATCHES)


@pytest.mark.parametrize(
    "params, shape",
    [
        ({}, (1, 8000)),
        ({"log_mels": True}, (8000,)),
        ({"n_mfcc": 13, "n_mels": 23, "hop_length": 160, "center": False}, (2, 4000)),
        ({"n_mfcc": 64, "n_mels": 64, "n_fft": 512, "sample_rate": 8000}, (1, 700)),
    ],
)
def test_mfcc_matches_torchaudio(params, shape):
    assert_layer_matches("MFCC", params, [TensorInfo(shape)], batches=BATCHES)


@pytest.mark.parametrize(
    "params, shape",
    [
        ({}, (1, 64, 20)),
        ({"stype": "magnitude"}, (201,)),
        ({"top_db": 80.0}, (1, 64, 20)),
        ({"top_db": 40.0, "stype": "magnitude"}, (2, 3, 5, 7)),
    ],
)
def test_amplitude_to_db_matches_torchaudio(params, shape):
    out = assert_layer_matches("AmplitudeToDB", params, [TensorInfo(shape)], batches=BATCHES)
    assert out == [TensorInfo(shape)]


def test_frame_count_formula_over_a_grid():
    """1 + (S + 2·(n_fft // 2) - n_fft) // hop frames, and exactly the lengths torch refuses."""
    s = spec("Spectrogram")
    for center in (True, False):
        for n_fft, win, hop in ((16, None, None), (17, 9, None), (16, None, 3), (33, 20, 7)):
            params = s.resolve({"n_fft": n_fft, "win_length": win, "hop_length": hop, "center": center})
            module = s.build([TensorInfo((1, 40))], params)
            for samples in range(1, 40):
                x = TensorInfo((1, samples))
                try:
                    (want,) = s.infer([x], params)
                except ShapeError:
                    want = None
                try:
                    got = tuple(module(torch.randn(1, 1, samples)).shape[1:])
                except RuntimeError:
                    got = None
                assert (want.shape if want else None) == got, (n_fft, win, hop, center, samples)


def test_audio_flops_count_only_the_filterbank_and_dct():
    x = [TensorInfo((2, 16000))]
    (mel,) = infer("MelSpectrogram", {}, (2, 16000))
    assert spec("MelSpectrogram").flops(x, [mel], spec("MelSpectrogram").resolve({})) == 2 * 2 * 81 * 201 * 64
    (mfcc,) = infer("MFCC", {}, (2, 16000))
    dct = 2 * 2 * 81 * 64 * 40
    assert spec("MFCC").flops(x, [mfcc], spec("MFCC").resolve({})) == 2 * 2 * 81 * 201 * 64 + dct
    assert spec("Spectrogram").flops(x, infer("Spectrogram", {}, (2, 16000)), spec("Spectrogram").resolve({})) == 0


@pytest.mark.parametrize("name", ["Spectrogram", "MelSpectrogram", "MFCC", "AmplitudeToDB"])
def test_audio_constructor_is_plain_source(name):
    """Codegen writes qualname(**kwargs) with repr'd values: that source must rebuild the layer."""
    s = spec(name)
    params = s.resolve({"top_db": 80.0} if name == "AmplitudeToDB" else {"hop_length": 100})
    shape = (1, 4, 9) if name == "AmplitudeToDB" else (1, 800)
    ctor = s.constructor([TensorInfo(shape)], params)
    json.dumps(ctor.kwargs)
    assert ctor.qualname == f"torchaudio.transforms.{name}"
    source = f"{ctor.qualname}({', '.join(f'{k}={v!r}' for k, v in ctor.kwargs.items())})"
    rebuilt = eval(source, {"torchaudio": torchaudio})
    x = torch.rand(2, *shape)
    torch.testing.assert_close(rebuilt(x), ctor.build()(x))


# --- audio: refusals -----------------------------------------------------------------


@pytest.mark.parametrize(
    "name, params, field, words",
    [
        ("Spectrogram", {"power": None}, "power", "complex output"),
        ("MelSpectrogram", {"power": None}, "power", "complex output"),
        ("Spectrogram", {"power": 0.0}, "power", "at least"),
        ("Spectrogram", {"n_fft": 256, "win_length": 300}, "win_length", "at most n_fft (256)"),
        ("Spectrogram", {"win_length": 1}, "hop_length", "hop of 0"),
        ("MelSpectrogram", {"f_max": 8001.0}, "f_max", "sample_rate / 2 = 8000"),
        ("MelSpectrogram", {"sample_rate": 8000, "f_max": 5000.0}, "f_max", "Nyquist"),
        ("MelSpectrogram", {"f_min": 300.0, "f_max": 300.0}, "f_min", "below f_max (300 Hz)"),
        ("MelSpectrogram", {"f_min": 9000.0}, "f_min", "below f_max (8000 Hz)"),
        ("MelSpectrogram", {"n_mels": 128}, "n_mels", "use n_mels ≤ 89 or a larger n_fft"),
        ("MelSpectrogram", {"n_mels": 2, "f_max": 30.0}, "n_mels", "use a larger n_fft"),
        ("MFCC", {"n_fft": 256, "n_mels": 128}, "n_mels", "n_mels ≤ 57"),
        ("MFCC", {"n_mfcc": 65}, "n_mfcc", "at most n_mels (64)"),
        ("AmplitudeToDB", {"stype": "energy"}, "stype", "'power', 'magnitude'"),
    ],
)
def test_audio_param_errors(name, params, field, words):
    with pytest.raises(ParamError) as err:
        spec(name).resolve(params)
    assert err.value.name == field
    assert words in str(err.value)


@pytest.mark.parametrize(
    "n_fft, n_mels, sample_rate, f_min, f_max",
    [
        (400, 64, 16000, 0.0, None),
        (400, 89, 16000, 0.0, None),
        (400, 90, 16000, 0.0, None),
        (256, 57, 16000, 0.0, None),
        (256, 58, 16000, 0.0, None),
        (512, 128, 22050, 0.0, None),
        (1024, 128, 22050, 0.0, None),
        (400, 108, 16000, 20.0, 7600.0),
        (400, 109, 16000, 20.0, 7600.0),
        (64, 40, 16000, 0.0, None),
    ],
)
def test_empty_mel_filter_refusal_is_exactly_torchaudios_warning(n_fft, n_mels, sample_rate, f_min, f_max):
    params = {"n_fft": n_fft, "n_mels": n_mels, "sample_rate": sample_rate, "f_min": f_min, "f_max": f_max}
    try:
        spec("MelSpectrogram").resolve(params)
        refused = False
    except ParamError as err:
        assert err.name == "n_mels"
        refused = True
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torchaudio.transforms.MelSpectrogram(**params)
    warned = any("all zero values" in str(w.message) for w in caught)
    assert refused == warned


def test_suggested_n_mels_is_the_largest_that_works():
    with pytest.raises(ParamError) as err:
        spec("MelSpectrogram").resolve({"n_fft": 512, "sample_rate": 22050, "n_mels": 128})
    best = int(str(err.value).split("n_mels ≤ ")[1].split()[0])
    spec("MelSpectrogram").resolve({"n_fft": 512, "sample_rate": 22050, "n_mels": best})
    with pytest.raises(ParamError):
        spec("MelSpectrogram").resolve({"n_fft": 512, "sample_rate": 22050, "n_mels": best + 1})


@pytest.mark.parametrize(
    "name, params, shape, dtype, words",
    [
        ("Spectrogram", {}, (1, 200), "float32", "at least 201 samples for n_fft=400"),
        ("Spectrogram", {"center": False}, (1, 399), "float32", "at least 400 samples"),
        ("MelSpectrogram", {"n_fft": 1024}, (2, 512), "float32", "at least 513 samples"),
        ("MFCC", {}, (1, 100), "float32", "at least 201 samples"),
        ("Spectrogram", {}, (1, 28, 28), "float32", "expects a waveform [N, C, S] or [N, S] but gets [N, 1, 28, 28]"),
        ("MelSpectrogram", {}, (16000,), INT, "needs float input"),
        ("MFCC", {}, (16000,), "float32", "one shared 80 dB floor"),
        ("AmplitudeToDB", {"top_db": 80.0}, (64, 20), "float32", "expects a spectrogram [N, C, F, T]"),
        ("AmplitudeToDB", {}, (64, 20), INT, "needs float input"),
    ],
)
def test_audio_shape_errors(name, params, shape, dtype, words):
    with pytest.raises(ShapeError) as err:
        infer(name, params, shape, dtype)
    assert words in str(err.value)


def test_refused_layouts_really_mix_the_batch():
    """Why MFCC refuses [N, S] (unless log_mels) and AmplitudeToDB+top_db refuses rank < 4:
    torchaudio then clips every sample against a floor taken from the loudest one."""
    torch.manual_seed(0)
    quiet, loud = torch.randn(1, 1, 4000) * 1e-3, torch.randn(1, 1, 4000) * 1e3
    mfcc = torchaudio.transforms.MFCC(melkwargs={"n_mels": 64})
    alone = mfcc(quiet[:, 0])
    assert not torch.allclose(mfcc(torch.cat([quiet, loud])[:, 0])[:1], alone)  # [N, S]: mixed
    torch.testing.assert_close(mfcc(torch.cat([quiet, loud]))[:1], mfcc(quiet))  # [N, 1, S]: per sample
    infer("MFCC", {}, (1, 4000))
    infer("MFCC", {"log_mels": True}, (4000,))
    infer("AmplitudeToDB", {}, (64, 20))  # no top_db: element-wise, any rank


# --- vision backbones ------------------------------------------------------------------


@pytest.mark.parametrize(
    "arch, params, shape",
    [
        ("resnet18", {}, (3, 32, 32)),  # also holds the meta-device FLOPs against a real CPU count
        ("resnet18", {"features_only": True}, (3, 1, 1)),  # the minimum size
        ("resnet34", {"features_only": True, "trainable": False}, (3, 7, 3)),
        ("resnet50", {}, (3, 1, 1)),
        ("mobilenet_v3_small", {}, (3, 33, 17)),
        ("mobilenet_v3_small", {"features_only": True}, (3, 1, 2)),
        ("efficientnet_b0", {"features_only": True}, (3, 1, 1)),
        ("efficientnet_b0", {}, (3, 20, 24)),
    ],
)
def test_backbone_matches_torchvision(arch, params, shape):
    (out,) = assert_layer_matches(arch, params, [TensorInfo(shape)], batches=BATCHES)
    assert out.shape == ((FEATURES[arch],) if params.get("features_only") else (1000,))


@pytest.mark.parametrize("arch", ARCHS)
def test_backbone_output_width(arch):
    assert infer(arch, {}, (3, 224, 224)) == [TensorInfo((1000,))]
    assert infer(arch, {"features_only": True}, (3, 224, 224)) == [TensorInfo((FEATURES[arch],))]
    assert infer(arch, {}, (3, 1, 1)) == [TensorInfo((1000,))]
    assert spec(arch).category == "vision backbones"


def test_backbone_meta_flops_are_memoised_and_match_published_counts():
    """(test_backbone_matches_torchvision holds them against a real CPU FlopCounterMode count.)"""
    flops = spec("resnet18").flops
    count_flops.cache_clear()
    x = [TensorInfo((3, 64, 48))]
    p = spec("resnet18").resolve({})
    first = flops(x, infer("resnet18", {}, (3, 64, 48)), p)
    assert flops(x, [], p) == first and count_flops.cache_info().hits == 1
    head = 2 * 512 * 1000  # the fc layer
    assert first - flops(x, [], spec("resnet18").resolve({"features_only": True})) == head
    assert flops([TensorInfo((3, 224, 224))], [], p) == 2 * 1_814_073_344  # 1.81 GMACs, as torchvision lists


@pytest.mark.parametrize("arch", ["mobilenet_v3_small"])
def test_trainable_false_freezes_everything(arch):
    frozen = spec(arch).build([TensorInfo((3, 8, 8))], spec(arch).resolve({"trainable": False}))
    assert all(not p.requires_grad for p in frozen.parameters())
    free = spec(arch).build([TensorInfo((3, 8, 8))], spec(arch).resolve({"features_only": True}))
    assert all(p.requires_grad for p in free.parameters())
    assert free(torch.randn(2, 3, 8, 8)).shape == (2, FEATURES[arch])


@pytest.mark.parametrize(
    "shape, dtype, words",
    [
        ((1, 28, 28), "float32", "resnet18 expects 3 input channels (RGB) but gets 1: [N, 1, 28, 28]"),
        ((1, 28, 28), "float32", "insert a Conv2d with out_channels=3"),
        ((4, 32, 32), "float32", "or change the Input to 3 channels"),
        ((3, 32), "float32", "resnet18 expects an RGB image [N, 3, H, W] but gets [N, 3, 32]"),
        ((3, 32, 32), INT, "needs float input"),
    ],
)
def test_backbone_shape_errors(shape, dtype, words):
    with pytest.raises(ShapeError) as err:
        infer("resnet18", {}, shape, dtype)
    assert words in str(err.value)


@pytest.fixture
def fake_torch_home(tmp_path, monkeypatch):
    """An empty torch cache; any attempt to download fails the test."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def no_download(*args, **kwargs):
        raise AssertionError("tried to download")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    return tmp_path


def test_imagenet_weights_missing_from_the_cache(fake_torch_home):
    path = cached_weights_path("resnet18")
    assert path == os.path.join(str(fake_torch_home), "hub", "checkpoints", "resnet18-f37072fd.pth")
    assert Backbone.weights_path("resnet18") == path
    with pytest.raises(ShapeError) as err:
        infer("resnet18", {"weights": "imagenet"}, (3, 32, 32))
    assert str(err.value) == (
        f"imagenet weights for resnet18 are not in the local torch cache ({path}); "
        "download them once or set weights to 'none'"
    )
    with pytest.raises(FileNotFoundError, match="not in the local torch cache"):
        Backbone("resnet18", weights="imagenet")
    with pytest.raises(ValueError, match="'none' or 'imagenet'"):
        Backbone("resnet18", weights="DEFAULT")


def test_imagenet_weights_load_from_the_cache(fake_torch_home):
    torch.manual_seed(1)
    reference = torchvision.models.get_model("resnet18", weights=None)
    path = cached_weights_path("resnet18")
    os.makedirs(os.path.dirname(path))
    torch.save(reference.state_dict(), path)

    assert infer("resnet18", {"weights": "imagenet", "features_only": True}, (3, 32, 32)) == [TensorInfo((512,))]
    s = spec("resnet18")
    module = s.build([TensorInfo((3, 32, 32))], s.resolve({"weights": "imagenet", "trainable": False}))
    loaded = module.model.state_dict()
    assert loaded.keys() == reference.state_dict().keys()
    for name, value in reference.state_dict().items():
        assert torch.equal(loaded[name], value), name
    assert not any(p.requires_grad for p in module.parameters())
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(module.eval()(x), reference.eval()(x))


ALLOWED = {"math", "torch", "nn", "F", "torchvision"}


def _global_names(code) -> set[str]:
    names = {i.argval for i in dis.get_instructions(code) if i.opname in ("LOAD_GLOBAL", "LOAD_NAME")}
    for const in code.co_consts:
        if inspect.iscode(const):
            names |= _global_names(const)
    return names


def test_backbone_source_is_self_contained(fake_torch_home):
    """Codegen copies the class source verbatim; it may use only math, torch, nn, F, torchvision."""
    source = inspect.getsource(Backbone)
    used = _global_names(compile(source, "<Backbone>", "exec")) - set(dir(builtins)) - {"__name__", "Backbone"}
    assert used <= ALLOWED, used - ALLOWED

    namespace = {"math": math, "torch": torch, "nn": nn, "F": F, "torchvision": torchvision}
    exec(source, namespace)
    standalone = namespace["Backbone"]
    assert standalone.weights_path("mobilenet_v3_small") == cached_weights_path("mobilenet_v3_small")
    with pytest.raises(FileNotFoundError, match="mobilenet_v3_small"):
        standalone("mobilenet_v3_small", weights="imagenet")
    torch.manual_seed(2)
    copy = standalone("mobilenet_v3_small", trainable=False, features_only=True).eval()
    torch.manual_seed(2)
    want = Backbone("mobilenet_v3_small", trainable=False, features_only=True).eval()
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(copy(x), want(x))
    assert not any(p.requires_grad for p in copy.parameters())


def test_backbone_constructor_is_plain_json():
    s = spec("efficientnet_b0")
    ctor = s.constructor([TensorInfo((3, 8, 8))], s.resolve({"features_only": True}))
    assert ctor.module_class is Backbone and ctor.qualname is None
    assert json.loads(json.dumps(ctor.kwargs)) == {
        "arch": "efficientnet_b0",
        "weights": "none",
        "trainable": True,
        "features_only": True,
    }

