"""Help › Keyboard Shortcuts lists every key the window answers to (Train F5, Pause F6, Stop Shift+F5 too)."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence

from workbench.ui.menus import key_names


def test_every_action_key_is_listed(window, dialogs):
    listed = set().union(*(key_names(keys) for _what, keys in window.shortcut_rows()))
    assert {"F5", "F6", "Shift+F5"} <= listed
    for action in window.findChildren(QAction):
        for key in action.shortcuts():
            assert key.toString(QKeySequence.SequenceFormat.NativeText) in listed, action.text()
    window.show_shortcuts()
    (title, text), = [info for info in dialogs.infos if info[0] == "Keyboard shortcuts"]
    assert "Train" in text and "Shift+F5" in text
