"""Before Qt starts on X11: which system libraries its xcb platform plugin cannot load.

A fresh Debian/Ubuntu or Fedora machine often lacks a few xcb helper libraries, and Qt
then aborts with "could not load the Qt platform plugin xcb" and a hint nobody can act
on. `ldd` on the plugin lists what is missing (transitively); this names the packages.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["missing_libraries", "missing_message", "uses_xcb", "xcb_plugin"]

# soname -> (Debian/Ubuntu package, Fedora package)
PACKAGES = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl"),
    "libGLX.so.0": ("libglx0", "libglvnd-glx"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
}
PACKAGES.update({f"libxcb-{name}.so.{n}": (f"libxcb-{name}{n}", "libxcb") for name, n in (
    ("randr", 0), ("render", 0), ("shape", 0), ("shm", 0), ("sync", 1), ("xfixes", 0), ("xinerama", 0),
    ("xkb", 1), ("glx", 0), ("xinput", 0))})

def uses_xcb() -> bool:
    """Whether Qt will pick its X11 plugin: Linux, an X display, no other platform asked for."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if sys.platform != "linux" or platform.split(":")[0] not in ("", "xcb"):
        return False
    return bool(os.environ.get("DISPLAY")) and (platform == "xcb" or not os.environ.get("WAYLAND_DISPLAY"))


def xcb_plugin() -> Path | None:
    try:
        import PySide6
    except ImportError:
        return None
    plugin = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return plugin if plugin.is_file() else None


def missing_libraries(plugin: Path | None = None, ldd_output: str | None = None) -> list[str]:
    """Sonames `ldd` reports as "not found" for the plugin; [] when it cannot tell."""
    if ldd_output is None:
        plugin = plugin or xcb_plugin()
        ldd = shutil.which("ldd")
        if plugin is None or ldd is None:
            return []
        try:
            ldd_output = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            return []
    missing = []
    for line in ldd_output.splitlines():
        name, _, where = line.strip().partition("=>")
        if where.strip() == "not found" and name.strip() not in missing:
            missing.append(name.strip())
    return missing


def missing_message(missing: list[str]) -> str:
    debian = [PACKAGES.get(so, (None, None))[0] for so in missing]
    fedora = [PACKAGES.get(so, (None, None))[1] for so in missing]
    lines = [f"error: Qt's X11 (xcb) platform plugin cannot load: {', '.join(missing)}"]
    if all(debian):
        lines.append(f"  Debian/Ubuntu: sudo apt-get install {' '.join(dict.fromkeys(debian))}")
        lines.append(f"  Fedora:        sudo dnf install {' '.join(dict.fromkeys(fedora))}")
    else:
        lines.append("  install the packages that provide them with your system's package manager")
    lines.append("  (or run headless: QT_QPA_PLATFORM=offscreen, or the workbench command line)")
    return "\n".join(lines)
