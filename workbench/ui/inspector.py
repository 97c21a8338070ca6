"""The inspector: the selected layer's parameters as a form, or the project overview.

The form is generated from the layer's Param schema. A value the schema refuses is
marked in its field with the reason and not applied; a valid one becomes a SetParams
command (consecutive keystrokes in one field merge into one undo step; leaving the
field ends the step). Problems that shape inference pins on a field (`Diagnostic.field`)
are shown in that field too.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QScrollArea, QToolButton, QVBoxLayout, QWidget

from workbench.core.commands import SetParams
from workbench.core.graph import GraphEvent
from workbench.core.params import ParamError, from_data_fact
from workbench.ui.overview import project_overview
from workbench.ui.param_editors import ParamEditor, editor_for
from workbench.ui.sweep.context import offer_search


class FieldRow(QWidget):
    """An editor, a reset button and the message saying what is wrong with the value."""

    def __init__(self, editor: ParamEditor, parent=None) -> None:
        super().__init__(parent)
        self.editor = editor
        self.reset = QToolButton(self)
        self.reset.setText("↺")
        self.reset.setToolTip(f"Reset {editor.param.name} to its default ({editor.param.default!r})")
        self.reset.setAutoRaise(True)
        self.reset.setFixedWidth(22)
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #d23c3c;")
        self.message.hide()
        self.local_error: str | None = None
        self.model_error: str | None = None
        line = QWidget(self)
        hbox = QHBoxLayout(line)
        hbox.setContentsMargins(0, 0, 0, 0)
        hbox.addWidget(editor, 1)
        hbox.addWidget(self.reset)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(1)
        column.addWidget(line)
        column.addWidget(self.message)

    def show_error(self) -> None:
        text = self.local_error or self.model_error
        self.message.setText(f"⚠ {text}" if text else "")
        self.message.setVisible(bool(text))
        self.editor.setToolTip(text or self.editor.param.help)


class Inspector(QScrollArea):
    renamed = Signal(str)  # the shown node got a new id from the id field

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # wrap, never scroll sideways
        self.document = None
        self.node_id: str | None = None
        self.rows: dict[str, FieldRow] = {}
        self.title = QLabel()
        self.id_field = None
        self._show_empty("Loading…")

    def set_document(self, document) -> None:
        if self.document is not None:
            self.document.graph.unsubscribe(self._on_graph_event)
            self.document.inferred.disconnect(self._on_inferred)
        self.document = document
        document.graph.subscribe(self._on_graph_event)
        document.inferred.connect(self._on_inferred)
        self.show_nodes([])

    # ---- what to show ------------------------------------------------------------
    def show_nodes(self, node_ids: list[str]) -> None:
        if len(node_ids) == 1:
            self.show_node(node_ids[0])
        elif node_ids:
            self.node_id = None
            self._show_empty(f"{len(node_ids)} layers selected")
        else:
            self.show_node(None)

    def show_node(self, node_id: str | None) -> None:
        if self.id_field is not None and self.id_field.busy:  # a rename on its way: the page stays till it is done
            return
        self.node_id = node_id
        self.rows = {}
        self.id_field = None
        if self.document is None:
            return
        if node_id is None or node_id not in self.document.graph:
            self.node_id = None
            self._show_empty(project_overview(self.document))
            return
        graph = self.document.graph
        node = graph.node(node_id)
        spec = graph.spec(node_id)
        page = QWidget()
        layout = QVBoxLayout(page)
        self.title = QLabel(f"<b>{html.escape(node_id)}</b> — {html.escape(node.type)}")
        self.title.setTextFormat(Qt.TextFormat.RichText)
        doc = QLabel(spec.doc)
        doc.setWordWrap(True)
        doc.setStyleSheet("color: #808080;")
        self.io_label = QLabel()
        self.io_label.setWordWrap(True)
        self.problems = QLabel()
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet("color: #d23c3c;")
        from workbench.ui.id_field import IdField

        self.id_field = IdField(self.document, node_id)
        self.id_field.renamed.connect(self._renamed)
        for widget in (self.title, self.id_field, doc, self.io_label, self.problems):
            layout.addWidget(widget)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for param in spec.params:
            editor = editor_for(param)
            row = FieldRow(editor)
            editor.setToolTip(param.help)
            label = QLabel(param.name)
            label.setToolTip(param.help)
            form.addRow(label, row)
            self.rows[param.name] = row
            editor.edited.connect(lambda value, name=param.name: self._edited(name, value))
            editor.finished.connect(self._finished)
            offer_search(editor, lambda name=param.name: f"nodes.{self.node_id}.{name}" if self.node_id else None)
            row.reset.clicked.connect(lambda _=False, name=param.name: self._reset(name))
        if not spec.params:
            form.addRow(QLabel("This layer has no parameters."))
        layout.addLayout(form)
        layout.addStretch(1)
        self.setWidget(page)
        self._refresh_values()
        self._on_inferred(self.document.result)

    def _show_empty(self, text: str) -> None:
        current = self.widget()
        if isinstance(current, QLabel) and self.node_id is None:  # keep the page: no flicker, no rebuild
            if current.text() != text:
                current.setText(text)
            return
        label = QLabel(text)
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        label.setMargin(8)
        self.setWidget(label)

    # ---- model -> form -------------------------------------------------------------
    def _refresh_values(self) -> None:
        node = self.document.graph.nodes.get(self.node_id)
        if node is None:
            return
        spec = self.document.graph.spec(self.node_id)
        for param in spec.params:
            row = self.rows[param.name]
            value = node.params.get(param.name, param.default)
            if row.local_error is None:
                row.editor.set_value(value)
            row.reset.setEnabled(param.name in node.params)

    def _renamed(self, node_id: str) -> None:
        QTimer.singleShot(0, lambda: self._show_renamed(node_id))  # not now: the id field's own signal is running

    def _show_renamed(self, node_id: str) -> None:
        self.show_node(node_id)
        self.renamed.emit(node_id)

    def _on_graph_event(self, event: GraphEvent) -> None:
        if self.node_id is None or (self.id_field is not None and self.id_field.busy):  # overview: on `inferred`
            return
        if event.kind == "params_changed" and event.node == self.node_id:
            for row in self.rows.values():
                row.local_error = None
                row.show_error()
            self._refresh_values()
        elif (event.kind == "node_removed" and event.node == self.node_id) or event.kind == "reset":
            self.show_node(None)

    def _on_inferred(self, result) -> None:
        if self.node_id is None:
            if self.document is not None and isinstance(self.widget(), QLabel):
                self._show_empty(project_overview(self.document))
            return
        graph = self.document.graph
        ins = [result.output(e.source, e.source_port) for e in graph.in_edges(self.node_id)]
        outs = result.outputs.get(self.node_id)
        text_in = ", ".join(str(i) if i is not None else "?" for i in ins) or "—"
        text_out = ", ".join(str(o) for o in outs) if outs else ("—" if outs == () else "?")
        figures = _figures(self.document, self.node_id)
        self.io_label.setText(f"in {text_in}  →  out {text_out}" + (f"\n{figures}" if figures else ""))
        general = []
        for row in self.rows.values():
            row.model_error = None
        for d in result.for_node(self.node_id):
            if d.field in self.rows:
                self.rows[d.field].model_error = d.message
            else:
                general.append(f"{d.severity}: {d.message}")
        for row in self.rows.values():
            row.show_error()
        self._show_from_data(result)
        self.problems.setText("\n".join(general))
        self.problems.setVisible(bool(general))

    def _show_from_data(self, result) -> None:
        """A size taken from the data ({"from_data": fact}) shows the value it resolved to,
        read-only; ↺ makes it a plain number again."""
        node = self.document.graph.nodes.get(self.node_id)
        resolved = result.resolved.get(self.node_id) or {}
        for name, row in self.rows.items():
            fact = from_data_fact(node.params.get(name)) if node is not None else None
            row.editor.setEnabled(fact is None)
            if fact is not None:
                value = resolved.get(name)
                if isinstance(value, int):
                    row.editor.set_value(value)
                shown = value if isinstance(value, int) else "not known"
                row.editor.setToolTip(f"From the data: {fact} = {shown}. ↺ sets a number instead.")

    # ---- form -> model ---------------------------------------------------------------
    def _edited(self, name: str, value) -> None:
        graph = self.document.graph
        node = graph.nodes.get(self.node_id)
        if node is None:
            return
        row = self.rows[name]
        param = graph.spec(self.node_id).param(name)
        try:
            param.validate(value)
        except ParamError as exc:
            row.local_error = exc.reason
            row.show_error()
            return
        row.local_error = None
        row.show_error()
        if node.params.get(name) == value and (name in node.params or value is None):
            return
        error = self.document.push(SetParams(self.node_id, {name: value}))
        if error:
            row.local_error = error
            row.show_error()
        elif row.editor.discrete:
            self.document.seal()

    def _finished(self) -> None:
        self.document.seal()

    def _reset(self, name: str) -> None:
        if self.node_id is not None:
            self.document.push(SetParams(self.node_id, {name: None}))
            self.document.seal()


def _figures(document, node_id: str) -> str | None:
    """Parameters, MACs/FLOPs and memory of the node, as the summary dock counts them."""
    try:
        return document.summary().node_text(node_id, document.project.training)
    except Exception:  # the summary dock says why
        return None
