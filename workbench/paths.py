"""Where the app's bundled files live."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESOURCES = ROOT / "resources"
EXAMPLES = RESOURCES / "examples"
DEFAULT_EXAMPLE = EXAMPLES / "digits_cnn.wbproj"


def examples() -> list[Path]:
    return sorted(EXAMPLES.glob("*.wbproj"))
