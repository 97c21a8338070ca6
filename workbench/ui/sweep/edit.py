"""Undoable edits a sweep makes to the open project: its search section, and "Apply best".

The search section lives among the project's top-level keys (workbench.search.space);
`SearchCommand` replaces it whole, merging consecutive edits of one field like the
settings docks do. `apply_values` turns a trial's params into ONE undo step: a macro of
the graph's SetParams commands and section replacements for training and data.
"""

from __future__ import annotations

import copy

from PySide6.QtGui import QUndoCommand

from workbench.core.commands import SetParams
from workbench.search.apply import assignments
from workbench.search.space import search_section, set_search_section
from workbench.ui.settings_panels.common import SectionCommand
from workbench.ui.undo import merge_id

__all__ = ["SearchCommand", "set_search", "apply_values"]


class SearchCommand(QUndoCommand):
    def __init__(self, project, new: dict | None, field: tuple, text: str, on_change=None) -> None:
        super().__init__(text)
        self.project, self.field, self.on_change = project, tuple(field), on_change
        self.old = copy.deepcopy(search_section(project))
        self.new = copy.deepcopy(new)
        self.sealed = False

    def _apply(self, value) -> None:
        set_search_section(self.project, copy.deepcopy(value))
        if self.on_change is not None:
            self.on_change()

    def redo(self) -> None:
        self._apply(self.new)

    def undo(self) -> None:
        self._apply(self.old)

    def id(self) -> int:
        return merge_id(("search", self.field))

    def mergeWith(self, other) -> bool:
        if self.sealed or not isinstance(other, SearchCommand) or other.field != self.field:
            return False
        self.new = copy.deepcopy(other.new)
        return True


def set_search(document, new: dict | None, field: tuple, text: str, on_change=None) -> None:
    document.undo_stack.push(SearchCommand(document.project, new, field, text, on_change))


def apply_values(document, values: dict, label: str) -> str | None:
    """Write `values` (dotted keys) into the open project as one undo step; the refusal, or None."""
    from workbench.search.apply import ApplyError

    project = document.project
    try:
        node_params, training, data = assignments(project, values)
    except ApplyError as exc:
        return str(exc)
    stack = document.undo_stack
    stack.beginMacro(label)
    try:
        for node_id, params in node_params.items():
            before = project.graph.node(node_id).params
            changes = {k: v for k, v in params.items() if before.get(k) != v}
            if changes:
                refusal = document.push(SetParams(node_id, changes), mergeable=False)
                if refusal:
                    return refusal
        for section, new in (("training", training), ("data", data)):
            if new != getattr(project, section):
                stack.push(SectionCommand(project, section, new, ("apply-best",), label))
    finally:
        stack.endMacro()
    return None
