"""`speechcommands`: torchaudio's SPEECHCOMMANDS (v0.02) from a local root folder.

params: root (relative to the project's folder; default: the per-user datasets folder,
data/paths.default_datasets_root; the files live in
<root>/SpeechCommands/speech_commands_v0.02/), download (false: never fetches unless asked;
when asked, writes only under the root), labels (a list of words to keep, e.g.
["yes", "no"]; default all 35), sample_rate (16000), use_test_split (true: validate on
the dataset's "validation" list; false: split its "training" part by val_fraction).
Clips are read with the stdlib WAV reader and fitted to the Input's [C, S] as audio_folder does.
"""

from __future__ import annotations

from pathlib import Path

from workbench.data.bundle import DataBundle, DataError
from workbench.data.paths import check_download_root, default_datasets_root
from workbench.data.request import Request
from workbench.data.sources.audio import WavSet, wav_bundle
from workbench.data.sources.waveforms import clip_shape
from workbench.data.splits import split_indices
from workbench import lazy

FOLDER = "SpeechCommands"
DOWNLOAD_WRITES = ("speech_commands_v0.02.tar.gz", f"{FOLDER}/speech_commands_v0.02")  # torchaudio's archive and folder


def open_subset(root: Path, subset: str, download: bool):
    SPEECHCOMMANDS = lazy.load("torchaudio.datasets").SPEECHCOMMANDS

    try:
        return SPEECHCOMMANDS(str(root), download=download, subset=subset)
    except Exception as exc:  # RuntimeError when absent; network errors when downloading
        if not download:
            raise DataError(
                f"SpeechCommands not found under {root}; put the files there "
                f"({root / FOLDER / 'speech_commands_v0.02'}/<word>/*.wav) or set download: true"
            ) from exc
        raise DataError(f"could not download SpeechCommands to {root}: {exc}") from exc


def clips(dataset, root: Path) -> list[tuple[str, str]]:
    """(absolute path, word) for every clip of a SPEECHCOMMANDS subset."""
    out = []
    for n in range(len(dataset)):
        relative, _, label, *_ = dataset.get_metadata(n)
        out.append((str(root / FOLDER / relative), label))
    return out


def load(request: Request) -> DataBundle:
    params = request.params
    params.check_known({"root", "download", "labels", "sample_rate", "use_test_split"})
    root = params.path("root", request.base_dir, default=str(default_datasets_root()), kind="folder", exists=False)
    download = params.bool("download", False)
    if download:
        check_download_root(root, DOWNLOAD_WRITES, params.field("root"))
    wanted = params.str_list("labels", None)
    sample_rate = params.int("sample_rate", 16000, minimum=100)
    use_test_split = params.bool("use_test_split", True)
    channels, length = clip_shape(request, sample_rate)
    train = clips(open_subset(root, "training", download), root)
    if use_test_split:
        val = clips(open_subset(root, "validation", download), root)
    else:
        train_idx, val_idx = split_indices(len(train), request.val_fraction, request.seed)
        train, val = [train[i] for i in train_idx.tolist()], [train[i] for i in val_idx.tolist()]
    words = sorted({label for _, label in train + val})
    if wanted is not None:
        unknown = [w for w in wanted if w not in words]
        if unknown:
            raise params.error("labels", f"names words SpeechCommands does not have: {', '.join(unknown)} (it has {', '.join(words)})")
        words = sorted(wanted)
    if len(words) < 2:
        raise DataError(f"SpeechCommands under {root} has fewer than two words to classify")
    index = {word: i for i, word in enumerate(words)}
    train_files = [(path, index[label]) for path, label in train if label in index]
    val_files = [(path, index[label]) for path, label in val if label in index]
    return wav_bundle(
        WavSet(train_files, sample_rate, channels, length),
        WavSet(val_files, sample_rate, channels, length),
        classes=words,
        source="SpeechCommands",
        description=f"SpeechCommands from {root}: {len(train_files)} training and {len(val_files)} validation clips, {len(words)} words",
    )
