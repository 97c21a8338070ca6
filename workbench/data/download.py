"""Data sets that need a download: what a data section would fetch, whether it is already
there, and fetching it (the Data dock's Download button, `workbench train --download`).

Nothing is fetched unless a person asks. `pending_download(data, base_dir)` is a few stat
calls (cheap enough for the UI thread and the template gallery) and names the set, the
folder and the size. `fetch` writes only under that folder: each archive goes to a
`.part` file, is checked against torchvision's MD5, then renamed into place, and
torchvision unpacks it from there (it finds the verified archive and fetches nothing).
The addresses are torchvision's own (its dataset classes' mirrors), none of ours.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from workbench.data.bundle import DataError
from workbench.data.params import Params
from workbench.data.paths import check_download_root, default_datasets_root

__all__ = ["Download", "pending_download", "needed_download", "fetch", "download_hint", "DownloadCancelled"]

# bytes fetched per set: the four MNIST-style idx archives, or CIFAR-10's python tarball
SIZES = {"MNIST": 11_594_722, "FashionMNIST": 30_878_645, "CIFAR10": 170_498_071}
# what torchvision reads once a set is unpacked (relative to the root): present means usable
_IDX = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
PRESENT = {
    "MNIST": tuple(f"MNIST/raw/{f}" for f in _IDX),
    "FashionMNIST": tuple(f"FashionMNIST/raw/{f}" for f in _IDX),
    "CIFAR10": tuple(f"cifar-10-batches-py/{f}" for f in ("batches.meta", *(f"data_batch_{i}" for i in range(1, 6)), "test_batch")),
}
CHUNK = 256 * 1024
TIMEOUT_S = 60


class DownloadCancelled(DataError):
    """The person stopped the download; the partial file is removed."""


def download_hint(name: str, root: Path) -> str:
    """The offline error: what is missing and the two ways to fetch it."""
    return (f"{name} not found in {root}; run `workbench train --download PROJECT` "
            "or press Download in the Data dock")


@dataclass(frozen=True)
class Download:
    name: str  # the torchvision class
    root: Path  # the folder it is read from (and written into)
    size: int  # bytes to fetch

    @property
    def present(self) -> bool:
        return all((self.root / relative).is_file() for relative in PRESENT[self.name])

    @property
    def size_text(self) -> str:
        return f"{self.size / 1e6:,.0f} MB"

    @property
    def label(self) -> str:
        return f"needs a download ({self.size_text})"


def needed_download(data: dict, base_dir: Path) -> Download | None:
    """The set this data section reads that a download provides (present or not); None for
    the sources that ship with the app or read the person's own files, and for a section
    too broken to say (loading it says what is wrong)."""
    if not isinstance(data, dict) or data.get("source") != "torchvision":
        return None
    try:
        params = Params(data.get("params"), "the torchvision source")
        name = params.str("name")
        root = params.path("root", Path(base_dir), default=str(default_datasets_root()), kind="folder", exists=False)
    except DataError:
        return None
    return Download(name, root, SIZES[name]) if name in SIZES else None


def pending_download(data: dict, base_dir: Path) -> Download | None:
    """`needed_download` when its files are not there yet, else None."""
    download = needed_download(data, base_dir)
    return download if download is not None and not download.present else None


Progress = Callable[[int, int], None]  # (bytes done, bytes in all)


def fetch(download: Download, progress: Progress | None = None, cancelled: Callable[[], bool] | None = None) -> None:
    """Fetch and unpack `download` into its root. Raises DataError (the set, the root and
    why) when it cannot, DownloadCancelled when `cancelled()` turns true."""
    from workbench import lazy
    from workbench.data.sources.vision import DOWNLOAD_WRITES, open_dataset

    check_download_root(download.root, DOWNLOAD_WRITES[download.name], "data.params.root")
    cls = getattr(lazy.load("torchvision.datasets"), download.name)
    files = _archives(cls, download.root)
    done = [0]
    total = max(download.size, 1)

    def step(n: int) -> None:
        done[0] += n
        if progress is not None:
            progress(min(done[0], total), total)
        if cancelled is not None and cancelled():
            raise DownloadCancelled(f"the download of {download.name} was cancelled")

    for urls, target, md5 in files:
        if _md5(target) == md5:
            step(target.stat().st_size)
            continue
        _fetch_one(urls, target, md5, step, download)
    for train in (True, False):  # torchvision unpacks the verified archives; nothing is fetched again
        open_dataset(download.name, download.root, train, True)
    if progress is not None:
        progress(total, total)


def _archives(cls, root: Path) -> list[tuple[list[str], Path, str]]:
    """(addresses to try in turn, where the archive goes, its MD5) for each archive of `cls`."""
    if hasattr(cls, "resources") and hasattr(cls, "mirrors"):  # MNIST-style: idx files under <root>/<name>/raw
        raw = root / cls.__name__ / "raw"
        return [([f"{mirror}{name}" for mirror in cls.mirrors], raw / name, md5) for name, md5 in cls.resources]
    return [([cls.url], root / cls.filename, cls.tgz_md5)]  # CIFAR-style: one tarball in the root


def _fetch_one(urls: list[str], target: Path, md5: str, step: Callable[[int], None], download: Download) -> None:
    import urllib.request  # with http and ssl, ~0.1 s: the Data dock only asks whether a set is here

    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    errors = []
    for url in urls:
        fetched = 0
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response, open(part, "wb") as out:
                while chunk := response.read(CHUNK):
                    out.write(chunk)
                    fetched += len(chunk)
                    step(len(chunk))
            if _md5(part) != md5:
                raise OSError(f"{target.name} arrived damaged (its MD5 is not {md5})")
            os.replace(part, target)
            return
        except DownloadCancelled:
            part.unlink(missing_ok=True)
            raise
        except (OSError, ValueError) as exc:  # URLError is an OSError
            part.unlink(missing_ok=True)
            step(-fetched)
            errors.append(f"{getattr(exc, 'reason', None) or exc}")
    raise DataError(f"could not download {download.name} to {download.root}: {'; '.join(errors)}")


def _md5(path: Path) -> str | None:
    if not path.is_file():
        return None
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
