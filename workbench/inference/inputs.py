"""The user's own input -> the tensor one graph Input takes, exactly as the data source made
its validation samples (same resize, normalisation, vocabulary, cut and padding; no
augmentation). Each function takes the Input's preprocess entry (workbench.data.preprocess)
and raises PredictError naming the file or field that is wrong.

Files are read with a size bound and only when regular (a FIFO or /dev/zero is refused).
"""

from __future__ import annotations

import csv
import io
import warnings

import numpy as np
import torch

from workbench.core.jsonfile import JsonFileError, read_regular
from workbench.inference.preprocess import PredictError

__all__ = ["read_bytes", "image_tensor", "image_file_tensor", "audio_file_tensor", "text_ids", "read_table", "rows_tensor"]

MAX_FILE_BYTES = 256 * 2**20
MAX_PIXELS = 64 * 2**20  # a decoded picture larger than this is refused (a decompression bomb)


def read_bytes(path, what: str = "input file", limit: int = MAX_FILE_BYTES) -> bytes:
    try:
        return read_regular(path, limit, what)
    except JsonFileError as exc:
        raise PredictError(str(exc)) from None


# --- images ---------------------------------------------------------------------------

def image_tensor(entry: dict, array: np.ndarray, where: str = "the image") -> torch.Tensor:
    """HxW or HxWxC, uint8 (0..255) or float (0..1) -> [C, H, W] as the source's validation images."""
    from PIL import Image

    a = np.asarray(array)
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (1, 3, 4)) or a.size == 0:
        raise PredictError(f"{where}: expected an HxW or HxWxC (C 1, 3 or 4) picture, got shape {list(a.shape)}")
    if a.dtype != np.uint8:
        if not np.issubdtype(a.dtype, np.number) or not np.isfinite(a).all():
            raise PredictError(f"{where}: pixel values must be finite numbers")
        a = (np.clip(a.astype(np.float64), 0.0, 1.0) * 255.0).round().astype(np.uint8)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    return _from_pil(entry, Image.fromarray(a))


def image_file_tensor(entry: dict, path) -> torch.Tensor:
    from PIL import Image, UnidentifiedImageError

    data = read_bytes(path, "image file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise PredictError(f"{path}: {image.width}x{image.height} pixels is larger than this program opens")
                image.load()
                return _from_pil(entry, image)
    except PredictError:
        raise
    except UnidentifiedImageError:
        raise PredictError(f"{path}: not an image file (no picture format PIL reads)") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise PredictError(f"{path}: not an image file this model can read ({_first(exc)})") from None


def _from_pil(entry: dict, image) -> torch.Tensor:
    from PIL import Image

    from workbench.data.sources.images import convert

    c, h, w = entry["shape"]
    if c not in (1, 3):
        raise PredictError(f"input {entry['name']!r} takes {c}-channel images; only 1 (greyscale) or 3 (RGB) can be made from a picture")
    image = image.convert("L" if c == 1 else "RGB")
    if entry.get("resample") == "pil":  # image_folder: PIL resizes the uint8 picture
        image = image.resize((w, h), Image.Resampling.BILINEAR)
    array = np.asarray(image, dtype=np.uint8)
    array = array[:, :, None] if array.ndim == 2 else array
    pixels = torch.from_numpy(array.copy()).permute(2, 0, 1)
    return convert(pixels, (h, w), entry["mean"], entry["std"])


# --- audio ----------------------------------------------------------------------------

def audio_file_tensor(entry: dict, path) -> torch.Tensor:
    """A WAV (any PCM/float encoding) or, where a decoder is installed, FLAC/OGG file -> [C, S]."""
    from workbench.data.bundle import DataError
    from workbench.data.sources.wavfile import fit_clip, read_wav

    read_bytes(path, "audio file")  # refuses non-regular and oversized files before any decoder
    try:
        data, rate = read_wav(path)
    except DataError as exc:
        data, rate = _decode_other(path, exc)
    if data.size == 0 or rate < 1:
        raise PredictError(f"{path}: the audio file holds no samples")
    clip = torch.from_numpy(np.ascontiguousarray(data, dtype=np.float32))
    sample_rate = int(entry["sample_rate"])
    if rate != sample_rate:
        import torchaudio.functional

        clip = torchaudio.functional.resample(clip, rate, sample_rate)
    channels, length = entry["shape"]
    try:
        return fit_clip(clip, channels, length, path)
    except DataError as exc:
        raise PredictError(str(exc)) from None


def _decode_other(path, wav_error) -> tuple[np.ndarray, int]:
    """Non-WAV audio through soundfile when it is installed; else the WAV reader's reason."""
    try:
        import soundfile
    except ImportError:
        raise PredictError(f"{path}: not a WAV file this model can read ({_first(wav_error)}); "
                           "other formats (FLAC, OGG) need the soundfile package") from None
    try:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises its own LibsndfileError
        raise PredictError(f"{path}: not an audio file this model can read ({_first(exc)})") from None
    return data.T, int(rate)


# --- tokens ---------------------------------------------------------------------------

def text_ids(entry: dict, text: str, where: str = "the text") -> torch.Tensor:
    """Text -> int64 [T]: through the run's vocabulary ("text"), or as whitespace-separated ids ("ids")."""
    (length,) = entry["shape"]
    pad = int(entry.get("pad_index", 0))
    if entry["kind"] == "text":
        from workbench.data.sources.text import encode, tokenize

        ids = {token: i for i, token in enumerate(entry["vocab"])}
        row = encode(tokenize(text, entry["tokenizer"], entry["lowercase"]), ids, length)
        return torch.tensor(row, dtype=torch.int64)
    return torch.tensor(parse_ids(entry, text, where, length, pad), dtype=torch.int64)


def parse_ids(entry: dict, text: str, where: str, length: int, pad: int) -> list[int]:
    vocab = entry.get("vocab_size")
    words = text.split()
    if not words:
        raise PredictError(f"{where}: no token ids (this model reads whitespace-separated whole numbers)")
    out = []
    for word in words[:length]:
        if not (word.isascii() and word.isdigit()) or (isinstance(vocab, int) and int(word) >= vocab):
            limit = f" from 0 to {vocab - 1}" if isinstance(vocab, int) else ""
            raise PredictError(f"{where}: {word[:40]!r} is not a token id{limit} (this model reads whitespace-separated ids)")
        out.append(int(word))
    return out + [pad] * (length - len(out))


# --- tables ---------------------------------------------------------------------------

def read_table(path, text: str | None = None) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """(header, [(file line, cells)]) of a CSV file (or of `text`, for stdin)."""
    if text is None:
        try:
            text = read_bytes(path, "CSV file").decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise PredictError(f"{path}: not a UTF-8 CSV file (byte {exc.start})") from None
    if "\x00" in text:
        raise PredictError(f"{path}: not a CSV file (it holds NUL bytes)")
    try:
        reader = csv.reader(io.StringIO(text))
        records = [(reader.line_num, row) for row in reader if row and any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise PredictError(f"{path}: not a readable CSV file ({exc})") from None
    if not records:
        raise PredictError(f"{path}: empty (expected a header row naming the columns, then one row per sample)")
    header = [cell.strip() for cell in records[0][1]]
    return header, [(line, [cell.strip() for cell in row]) for line, row in records[1:]]


def rows_tensor(entry: dict, rows: list[dict], labels: list[str]) -> torch.Tensor:
    """Rows (column name -> value) -> float32 [N, F], standardised as in training. Columns are
    matched by name; other columns (a target, an id) are ignored. `labels` name the rows."""
    columns = entry["columns"]
    out = np.empty((len(rows), len(columns)), dtype=np.float64)
    for r, (row, label) in enumerate(zip(rows, labels)):
        if not isinstance(row, dict):
            raise PredictError(f"{label}: expected a mapping of column name to value")
        for c, column in enumerate(columns):
            name = column["name"]
            if name not in row:
                raise PredictError(f"{label}: missing the column {name!r} "
                                   f"(the model reads {', '.join(col['name'] for col in columns)})")
            value = _number(row[name])
            if value is None:
                raise PredictError(f"{label}: column {name!r} has {str(row[name])[:40]!r}, not a number")
            out[r, c] = (value - column["mean"]) / column["std"]
    return torch.from_numpy(out.astype(np.float32))


def _number(value) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if np.isfinite(number) else None


def _first(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
