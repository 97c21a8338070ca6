"""`workbench train --download`: fetch what the project's data needs, then train.

A progress bar (tqdm) on a terminal, a line every 10 % in a log; nothing happens when the
files are already there or the data ships with the app.
"""

from __future__ import annotations

import sys

from workbench.data.download import fetch, pending_download
from workbench.data.paths import data_base_dir

__all__ = ["download_for"]


def download_for(project, stream=None) -> bool:
    """Fetch the project's pending download; True when something was fetched. Raises
    DataError when it cannot (the message names the set, the folder and why)."""
    stream = stream or sys.stderr
    download = pending_download(project.data, data_base_dir(project.path))
    if download is None:
        return False
    print(f"downloading {download.name} ({download.size_text}) to {download.root}", file=stream, flush=True)
    if getattr(stream, "isatty", lambda: False)():
        from tqdm import tqdm

        with tqdm(total=download.size, unit="B", unit_scale=True, file=stream, leave=False) as bar:
            fetch(download, lambda done, total: bar.update(done - bar.n))
    else:
        reported = [0]

        def line(done: int, total: int) -> None:
            tenth = 10 * done // total
            if tenth > reported[0]:
                reported[0] = tenth
                print(f"  {10 * tenth}% ({done / 1e6:,.1f} of {total / 1e6:,.1f} MB)", file=stream, flush=True)

        fetch(download, line)
    print(f"downloaded {download.name} to {download.root}", file=stream, flush=True)
    return True
