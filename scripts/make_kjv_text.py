"""Write resources/datasets/kjv_selections.txt: ten books of the King James Bible as plain
UTF-8 text (a heading per book and chapter, one numbered verse per line), ~1.2 MB.

The text comes from Debian's bible-kjv-text package, decoded by its bible-kjv program:

    apt-get download bible-kjv bible-kjv-text
    for deb in bible-kjv*.deb; do dpkg-deb -x "$deb" /tmp/kjv; done
    python scripts/make_kjv_text.py /tmp/kjv
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BOOKS = [("Genesis", "gen", 50), ("Exodus", "exo", 40), ("Ruth", "rut", 4), ("Psalms", "psa", 150),
         ("Proverbs", "pro", 31), ("Ecclesiastes", "ecc", 12), ("Matthew", "mat", 28), ("Mark", "mar", 16),
         ("Luke", "luk", 24), ("John", "joh", 21)]
VERSE = re.compile(r"^\S+?(\d+):(\d+) (.*)$")
TARGET = Path(__file__).resolve().parent.parent / "resources" / "datasets" / "kjv_selections.txt"


def book_text(root: Path, name: str, abbreviation: str, chapters: int) -> str:
    command = [str(root / "usr/bin/bible"), "-p", str(root / "usr/lib"), "-f", f"{abbreviation}1:1-{chapters}:999"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    parts, chapter = [f"The Book of {name}\n"], None
    for line in filter(str.strip, output.splitlines()):
        match = VERSE.match(line)
        if match is None:
            raise SystemExit(f"unexpected line from bible: {line!r}")
        if int(match.group(1)) != chapter:
            chapter = int(match.group(1))
            parts.append(f"\nChapter {chapter}\n\n")
        parts.append(f"{int(match.group(2))} {match.group(3)}\n")
    return "".join(parts)


def main(root: str) -> None:
    text = "\n\n".join(book_text(Path(root), *book) for book in BOOKS)
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET} ({len(text.encode()):,} bytes, {len(set(text))} distinct characters)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/kjv")
