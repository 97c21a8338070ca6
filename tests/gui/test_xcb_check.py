"""Before Qt starts on X11, missing xcb libraries are named with the packages that bring them."""

from __future__ import annotations

import pytest

from workbench.ui import app, xcb_check

LDD = """\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f)
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f)
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-icccm.so.4 => not found
"""


def test_ldd_output_gives_the_missing_sonames_once():
    assert xcb_check.missing_libraries(ldd_output=LDD) == ["libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1"]


def test_the_message_names_debian_and_fedora_packages():
    text = xcb_check.missing_message(["libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxkbcommon-x11.so.0"])
    assert text.startswith("error: ")
    assert "apt-get install libxcb-cursor0 libxcb-icccm4 libxkbcommon-x11-0" in text
    assert "dnf install xcb-util-cursor xcb-util-wm libxkbcommon-x11" in text


def test_an_unknown_library_still_gets_a_clear_line():
    assert "package manager" in xcb_check.missing_message(["libweird.so.7"])


def test_the_installed_plugin_is_checked_for_real():
    plugin = xcb_check.xcb_plugin()
    if plugin is None:
        pytest.skip("this PySide6 build has no xcb plugin")
    assert isinstance(xcb_check.missing_libraries(plugin), list)  # ldd ran on the real file


@pytest.mark.parametrize("env,expected", [
    ({"DISPLAY": ":0"}, True),
    ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, False),
    ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, False),
    ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0", "QT_QPA_PLATFORM": "xcb"}, True),
    ({}, False),
])
def test_only_an_x11_start_is_checked(monkeypatch, env, expected):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert xcb_check.uses_xcb() is expected


def test_run_app_stops_before_qt_with_the_packages(monkeypatch, capsys):
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.setattr(xcb_check, "missing_libraries", lambda: ["libxcb-cursor.so.0"])
    assert app.run_app(None) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Qt's X11 (xcb) platform plugin cannot load: libxcb-cursor.so.0")
    assert "apt-get install libxcb-cursor0" in err
