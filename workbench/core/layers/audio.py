"""Audio front ends (torchaudio transforms): Spectrogram, MelSpectrogram, MFCC, AmplitudeToDB.

They take a float waveform [N, C, S] (or [N, S]) and return exactly what torchaudio
returns: [N, C, freq, frames]. With center=True torch.stft reflect-pads n_fft // 2
samples on each side, so there are 1 + (S + 2·(n_fft // 2) - n_fft) // hop frames
(1 + S // hop for an even n_fft; 1 + (S - n_fft) // hop without centring), and the
reflect padding needs S > n_fft // 2 samples. hop defaults to win_length // 2.

FLOPs follow torch.utils.flop_counter, which ignores the FFT and counts only the
matrix products: the mel filterbank (and MFCC's DCT).
"""

from __future__ import annotations

import functools
import math
import warnings

from workbench.core.catalog import Constructor, LayerSpec, no_flops
from workbench.core.params import BOOL, CHOICE, FLOAT, INT, Param, ParamError
from workbench.core.tensors import ShapeError, TensorInfo, require_float

_STFT = (
    Param("n_fft", INT, 400, "FFT size; gives n_fft // 2 + 1 frequency bins", min=2, max=65536),
    Param("win_length", INT, None, "Window size (empty = n_fft)", min=1, max=65536, optional=True),
    Param(
        "hop_length", INT, None, "Samples between frames (empty = win_length // 2)", min=1, max=65536, optional=True
    ),
)
_POWER = Param(
    "power",
    FLOAT,
    2.0,
    "Exponent of the magnitude: 1 = magnitude, 2 = power (complex output is not supported)",
    min=0.1,
    max=10.0,
    optional=True,
)
_CENTER = Param("center", BOOL, True, "Pad n_fft // 2 samples on each side so frame t is centred at t·hop")
_SAMPLE_RATE = Param("sample_rate", INT, 16000, "Sample rate of the waveform (Hz)", min=100, max=1_000_000)
_MEL = (
    Param("f_min", FLOAT, 0.0, "Lowest frequency of the mel filters (Hz)", min=0.0),
    Param("f_max", FLOAT, None, "Highest mel filter frequency (Hz; empty = sample_rate / 2)", min=0.0, optional=True),
    Param("n_mels", INT, 64, "Number of mel filters (output frequency bins)", min=1, max=4096),
)


def _win_hop(p) -> tuple[int, int]:
    win = p["win_length"] if p["win_length"] is not None else p["n_fft"]
    hop = p["hop_length"] if p["hop_length"] is not None else win // 2
    return win, hop


def _check_stft(p) -> None:
    if p["win_length"] is not None and p["win_length"] > p["n_fft"]:
        raise ParamError("win_length", f"must be at most n_fft ({p['n_fft']}), got {p['win_length']}")
    if _win_hop(p)[1] < 1:
        raise ParamError("hop_length", f"win_length {p['win_length']} gives a hop of 0 samples; set hop_length")
    if "power" in p and p["power"] is None:
        raise ParamError("power", "complex output (power = none) is not supported; use 1 for magnitude or 2 for power")


def _f_max(p) -> float:
    return p["f_max"] if p["f_max"] is not None else float(p["sample_rate"] // 2)


@functools.lru_cache(maxsize=512)
def _empty_mel_filters(n_freqs: int, f_min: float, f_max: float, n_mels: int, sample_rate: int) -> int:
    """How many of torchaudio's triangular mel filters hold no frequency bin (all zeros).

    Asks torchaudio itself (imported here, on first use), so the check and the layer agree."""
    from workbench.lazy import load

    torchaudio_functional = load("torchaudio.functional")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fb = torchaudio_functional.melscale_fbanks(n_freqs, f_min, f_max, n_mels, sample_rate)
    return int((fb.max(dim=0).values == 0.0).sum())


def _largest_useful_n_mels(n_freqs: int, f_min: float, f_max: float, n_mels: int, sample_rate: int) -> int:
    """The largest n_mels below `n_mels` whose filters are all non-empty (0 if none is)."""
    lo, hi = 0, n_mels - 1  # bisect on "no filter is empty" (it holds for small n_mels)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _empty_mel_filters(n_freqs, f_min, f_max, mid, sample_rate) == 0:
            lo = mid
        else:
            hi = mid - 1
    while lo > 0 and _empty_mel_filters(n_freqs, f_min, f_max, lo, sample_rate):
        lo -= 1
    return lo


def _check_mel(p) -> None:
    _check_stft(p)
    nyquist = p["sample_rate"] / 2
    if p["f_max"] is not None and p["f_max"] > nyquist:
        raise ParamError("f_max", f"must be at most sample_rate / 2 = {nyquist:g} Hz (Nyquist), got {p['f_max']:g}")
    f_max = _f_max(p)
    if p["f_min"] >= f_max:
        raise ParamError("f_min", f"must be below f_max ({f_max:g} Hz), got {p['f_min']:g}")
    n_freqs = p["n_fft"] // 2 + 1
    args = (n_freqs, p["f_min"], f_max, p["n_mels"], p["sample_rate"])
    empty = _empty_mel_filters(*args)
    if empty:
        best = _largest_useful_n_mels(*args)
        spacing = (p["sample_rate"] // 2) / (n_freqs - 1)
        fix = f"use n_mels ≤ {best} or a larger n_fft" if best else "use a larger n_fft or a wider f_min..f_max"
        raise ParamError(
            "n_mels",
            f"{empty} of the {p['n_mels']} mel filters would be all zeros: n_fft={p['n_fft']} puts its frequency "
            f"bins {spacing:.3g} Hz apart, too coarse for {p['n_mels']} filters between {p['f_min']:g} and "
            f"{f_max:g} Hz (the lowest are the narrowest); {fix}",
        )
    if "n_mfcc" in p and p["n_mfcc"] > p["n_mels"]:
        raise ParamError("n_mfcc", f"must be at most n_mels ({p['n_mels']}), got {p['n_mfcc']}")


def _frames(name: str, x: TensorInfo, p) -> tuple[tuple[int, ...], int]:
    """Leading per-sample dims and the number of STFT frames for waveform `x`."""
    require_float(name, x)
    if x.rank not in (2, 3):
        raise ShapeError(
            f"{name} expects a waveform [N, C, S] or [N, S] but gets {x}; "
            "a spectrogram is computed from raw samples (Reshape to [C, S] first)"
        )
    n_fft = p["n_fft"]
    samples = x.shape[-1]
    need = n_fft // 2 + 1 if p["center"] else n_fft
    if samples < need:
        why = f"reflect padding by n_fft // 2 = {n_fft // 2}" if p["center"] else "one window without centring"
        raise ShapeError(f"{name} needs at least {need} samples for n_fft={n_fft} ({why}) but gets {samples} in {x}")
    hop = _win_hop(p)[1]
    length = samples + 2 * (n_fft // 2) if p["center"] else samples
    return x.shape[:-1], 1 + (length - n_fft) // hop


def _infer_spectrogram(inputs, p):
    lead, frames = _frames("Spectrogram", inputs[0], p)
    return [TensorInfo((*lead, p["n_fft"] // 2 + 1, frames))]


def _infer_mel(inputs, p):
    lead, frames = _frames("MelSpectrogram", inputs[0], p)
    return [TensorInfo((*lead, p["n_mels"], frames))]


def _infer_mfcc(inputs, p):
    x = inputs[0]
    lead, frames = _frames("MFCC", x, p)
    if not p["log_mels"] and x.rank == 2:
        raise ShapeError(
            f"MFCC on {x} would clip every sample of a batch against one shared 80 dB floor "
            "(torchaudio treats [N, n_mels, T] as one clip); Reshape the waveform to [1, S] "
            "(a channel dimension) or set log_mels"
        )
    return [TensorInfo((*lead, p["n_mfcc"], frames))]


def _infer_amplitude_to_db(inputs, p):
    (x,) = inputs
    require_float("AmplitudeToDB", x)
    if p["top_db"] is not None and x.rank < 4:
        raise ShapeError(
            f"AmplitudeToDB with top_db expects a spectrogram [N, C, F, T] but gets {x}: torchaudio would "
            "clip the whole batch against one floor; give it a channel dimension or leave top_db empty"
        )
    return [x]


def _mel_flops(inputs, outputs, p):
    lead, frames = outputs[0].shape[:-2], outputs[0].shape[-1]
    # (..., T, n_freqs) @ (n_freqs, n_mels)
    return 2 * math.prod(lead) * frames * (p["n_fft"] // 2 + 1) * p["n_mels"]


def _mfcc_flops(inputs, outputs, p):
    lead, frames = outputs[0].shape[:-2], outputs[0].shape[-1]
    dct = 2 * math.prod(lead) * frames * p["n_mels"] * p["n_mfcc"]  # (..., T, n_mels) @ (n_mels, n_mfcc)
    return _mel_flops(inputs, outputs, p) + dct


def _mel_kwargs(p) -> dict:
    return {
        "n_fft": p["n_fft"],
        "win_length": p["win_length"],
        "hop_length": p["hop_length"],
        "f_min": p["f_min"],
        "f_max": p["f_max"],
        "n_mels": p["n_mels"],
        "center": p["center"],
    }


def _construct_spectrogram(inputs, p):
    kwargs = {k: p[k] for k in ("n_fft", "win_length", "hop_length", "power", "normalized", "center")}
    return Constructor("torchaudio.transforms.Spectrogram", kwargs, "torchaudio.transforms.Spectrogram")


def _construct_mel(inputs, p):
    kwargs = {"sample_rate": p["sample_rate"], **_mel_kwargs(p), "power": p["power"]}
    return Constructor("torchaudio.transforms.MelSpectrogram", kwargs, "torchaudio.transforms.MelSpectrogram")


def _construct_mfcc(inputs, p):
    kwargs = {
        "sample_rate": p["sample_rate"],
        "n_mfcc": p["n_mfcc"],
        "log_mels": p["log_mels"],
        "melkwargs": _mel_kwargs(p),
    }
    return Constructor("torchaudio.transforms.MFCC", kwargs, "torchaudio.transforms.MFCC")


SPECTROGRAM = LayerSpec(
    name="Spectrogram",
    category="audio",
    doc="Short-time Fourier transform magnitude: waveform [N, C, S] → [N, C, n_fft // 2 + 1, frames].",
    params=(
        *_STFT,
        _POWER,
        Param("normalized", BOOL, False, "Divide by the window's L2 norm"),
        _CENTER,
    ),
    construct=_construct_spectrogram,
    infer=_infer_spectrogram,
    flops=no_flops,  # an FFT; FlopCounterMode counts none
    check=_check_stft,
)

MEL_SPECTROGRAM = LayerSpec(
    name="MelSpectrogram",
    category="audio",
    doc="Spectrogram on the mel scale: waveform [N, C, S] → [N, C, n_mels, frames].",
    params=(_SAMPLE_RATE, *_STFT, *_MEL, _POWER, _CENTER),
    construct=_construct_mel,
    infer=_infer_mel,
    flops=_mel_flops,
    check=_check_mel,
)

MFCC = LayerSpec(
    name="MFCC",
    category="audio",
    doc="Mel-frequency cepstral coefficients: waveform [N, C, S] → [N, C, n_mfcc, frames].",
    params=(
        _SAMPLE_RATE,
        Param("n_mfcc", INT, 40, "Number of coefficients kept (at most n_mels)", min=1, max=4096),
        Param("log_mels", BOOL, False, "Use log mel energies instead of decibels (clipped 80 dB below the peak)"),
        *_STFT,
        *_MEL,
        _CENTER,
    ),
    construct=_construct_mfcc,
    infer=_infer_mfcc,
    flops=_mfcc_flops,
    check=_check_mel,
)

AMPLITUDE_TO_DB = LayerSpec(
    name="AmplitudeToDB",
    category="audio",
    doc="Converts a power or magnitude spectrogram to decibels; the shape is unchanged.",
    params=(
        Param(
            "stype",
            CHOICE,
            "power",
            "'power' for power spectrograms (10·log10), 'magnitude' (20·log10)",
            choices=("power", "magnitude"),
        ),
        Param(
            "top_db",
            FLOAT,
            None,
            "Clip everything this many dB below each clip's peak (empty = no clipping)",
            min=0.0,
            optional=True,
        ),
    ),
    construct=lambda inputs, p: Constructor(
        "torchaudio.transforms.AmplitudeToDB", dict(p), "torchaudio.transforms.AmplitudeToDB"
    ),
    infer=_infer_amplitude_to_db,
    flops=no_flops,
)

SPECS = (SPECTROGRAM, MEL_SPECTROGRAM, MFCC, AMPLITUDE_TO_DB)
