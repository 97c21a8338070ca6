"""QUndoCommand adapter for the core's pure-Python commands.

`push` runs the command once first: a GraphError means nothing changed and nothing is
pushed (the caller shows the message). Commands whose `merge_key`s are equal merge
when pushed one after another (typing into a field), unless pushed with
`mergeable=False` (each mouse drag is its own step) or the earlier one was sealed.
"""

from __future__ import annotations

from PySide6.QtGui import QUndoCommand, QUndoStack

from workbench.core.commands import Command
from workbench.core.graph import Graph

_merge_ids: dict = {}


def merge_id(key) -> int:
    """A distinct small int per merge key (QUndoCommand.id() must be an int)."""
    return _merge_ids.setdefault(key, len(_merge_ids) + 1)


class UndoCommand(QUndoCommand):
    def __init__(self, graph: Graph, command: Command, mergeable: bool = True) -> None:
        super().__init__(command.text)
        self.graph = graph
        self.command = command
        self.mergeable = mergeable
        self.sealed = False
        self._already_done = True  # push() ran it before handing it to the stack

    def redo(self) -> None:
        if self._already_done:
            self._already_done = False
            return
        self.command.redo(self.graph)

    def undo(self) -> None:
        self.command.undo(self.graph)

    def id(self) -> int:
        key = self.command.merge_key()
        if key is None or not self.mergeable:
            return -1
        return merge_id(key)

    def mergeWith(self, other: QUndoCommand) -> bool:
        if self.sealed or not isinstance(other, UndoCommand) or not other.mergeable:
            return False
        if not self.command.merge(other.command):
            return False
        self.setText(other.command.text)
        return True


def push(stack: QUndoStack, graph: Graph, command: Command, mergeable: bool = True) -> UndoCommand:
    """Do `command` and record it. Raises the command's GraphError (nothing changed)."""
    command.redo(graph)
    wrapper = UndoCommand(graph, command, mergeable)
    stack.push(wrapper)
    return wrapper
