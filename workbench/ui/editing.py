"""Edits on the selection: add, delete, copy/paste/duplicate, group into a block, auto-layout.

Each builds core commands (a Macro when it is several) and pushes them through the
document, so every one is a single undo step; nothing here touches the graph directly.
"""

from __future__ import annotations

import json

from PySide6.QtCore import QMimeData, QPointF
from PySide6.QtWidgets import QApplication

from workbench.core.commands import AddNode, Connect, Disconnect, GroupIntoBlock, Macro, MoveNodes, RemoveNode, Ungroup
from workbench.core.jsonfile import parse_json
from workbench.core.layout import ROW, layout
from workbench.ui.canvas.node_item import NODE_H, NODE_W, snap

NODES_MIME = "application/x-workbench-nodes"
BLOCK_PREFIX = "Block:"  # palette entries of the project's blocks: "Block:NAME"
PASTE_OFFSET = 40.0


class Editor:
    """Selection-level edits for one document shown in one scene."""

    def __init__(self, document, scene, view) -> None:
        self.document = document
        self.graph = document.graph
        self.scene = scene
        self.view = view

    def _push(self, command) -> bool:
        error = self.document.push(command)
        if error:
            self.scene.message.emit(error)
        return error is None

    # ---- adding --------------------------------------------------------------------
    def add_layer(self, type_name: str, pos: QPointF | None = None, wire: bool = False) -> str | None:
        """Add a layer at `pos`, or below the selected node and fed by it (`wire`).
        `type_name` "Block:NAME" adds an instance of the project's block NAME."""
        params: dict = {}
        base = type_name
        if type_name.startswith(BLOCK_PREFIX):
            base = type_name[len(BLOCK_PREFIX):]
            if base not in self.graph.blocks:
                self.scene.message.emit(f"no block named {base!r} in this project")
                return None
            type_name, params = "Block", {"block": base}
        node_id = self.graph.unique_id(base)
        selected = self.scene.selected_node_ids()
        source = self.graph.node(selected[-1]) if wire and len(selected) >= 1 else None
        if pos is None:
            if source is not None:
                x, y = source.pos[0], source.pos[1] + ROW
                while any(abs(n.pos[0] - x) < NODE_W and abs(n.pos[1] - y) < NODE_H for n in self.graph):
                    x += NODE_W + 60
                pos = QPointF(x, y)
            else:
                c = self.view.visible_center()
                pos = QPointF(snap(c.x() - NODE_W / 2), snap(c.y() - NODE_H / 2))
        if not wire and type_name in self.graph.catalog:  # dropped onto a link: insert it there
            edge = self.scene.edge_at(QPointF(pos.x() + NODE_W / 2, pos.y() + NODE_H / 2))
            if edge is not None and self._insert(edge, node_id, type_name, params, (pos.x(), pos.y())):
                return node_id
        commands = [AddNode(node_id, type_name, params, (pos.x(), pos.y()))]
        src_spec = self.graph.spec(source.id) if source is not None else None
        if source is not None and src_spec.outputs > 0 and self._input_count(type_name, params) > 0:
            commands.append(Connect(source.id, node_id))
        command = commands[0] if len(commands) == 1 else Macro(f"Add {type_name}", commands)
        if not self._push(command):
            return None
        self.scene.select_nodes([node_id])
        return node_id

    def _insert(self, edge, node_id: str, type_name: str, params: dict, pos) -> bool:
        """Insert the new node into `edge` (one undo step); False, with the reason shown, when it cannot."""
        from workbench.core.insert_on_edge import insertion

        commands, why = insertion(self.graph, edge, node_id, type_name, params, pos)
        if commands is None:
            self.scene.message.emit(f"Not inserted into {edge.source} → {edge.target}: {why}")
            return False
        if not self._push(Macro(f"Insert {type_name}", commands)):
            return False
        self.scene.select_nodes([node_id])
        self.scene.message.emit(f"Inserted {node_id} between {edge.source} and {edge.target}")
        return True

    def _input_count(self, type_name: str, params: dict) -> int:
        spec = self.graph.catalog.get(type_name)
        if type_name == "Block":
            from workbench.core.blocks import bound_spec

            spec = bound_spec(spec, params.get("block"), self.graph.blocks, self.graph.catalog)
        return spec.inputs

    # ---- blocks ----------------------------------------------------------------------
    def group_selection(self, name: str | None = None) -> str | None:
        """Group the selected nodes into a new block (asks its name); returns the Block node id."""
        ids = self.scene.selected_node_ids()
        if not ids:
            self.scene.message.emit("Select the layers to group into a block first")
            return None
        if name is None:
            from PySide6.QtWidgets import QInputDialog

            suggestion = f"Block{len(self.graph.blocks) + 1}"
            name, ok = QInputDialog.getText(self.view, "Group into Block", "Block name:", text=suggestion)
            if not ok:
                return None
        command = GroupIntoBlock(ids, name.strip())
        if not self._push(command):
            return None
        self.scene.select_nodes([command.block_id])
        return command.block_id

    def ungroup_selection(self) -> list[str]:
        """Replace each selected Block node by its layers (one undo step)."""
        blocks = [n for n in self.scene.selected_node_ids() if self.graph.node(n).type == "Block"]
        if not blocks:
            self.scene.message.emit("Select a block to ungroup")
            return []
        commands = [Ungroup(n) for n in blocks]
        label = f"Ungroup {blocks[0]}" if len(blocks) == 1 else f"Ungroup {len(blocks)} blocks"
        if not self._push(Macro(label, commands)):
            return []
        added = [n for c in commands for n in c.added]
        self.scene.select_nodes(added)
        return added

    # ---- deleting ------------------------------------------------------------------
    def delete_selection(self) -> None:
        nodes = self.scene.selected_node_ids()
        gone = set(nodes)
        edges = [e for e in self.scene.selected_edges() if e.source not in gone and e.target not in gone]
        commands = [Disconnect(e) for e in edges] + [RemoveNode(n) for n in nodes]
        if not commands:
            return
        label = f"Delete {nodes[0]}" if len(nodes) == 1 and not edges else f"Delete {len(commands)} items"
        self._push(Macro(label, commands))

    # ---- clipboard -----------------------------------------------------------------
    def selection_data(self) -> dict | None:
        ids = self.scene.selected_node_ids()
        if not ids:
            return None
        chosen = set(ids)
        nodes = [self.graph.node(n).to_dict() for n in self.graph.nodes if n in chosen]
        edges = [e.to_dict() for e in self.graph.edges if e.source in chosen and e.target in chosen]
        return {"nodes": nodes, "edges": edges}

    def copy(self) -> bool:
        data = self.selection_data()
        if data is None:
            return False
        mime = QMimeData()
        text = json.dumps(data)
        mime.setData(NODES_MIME, text.encode("utf-8"))
        mime.setText(text)
        QApplication.clipboard().setMimeData(mime)
        n = len(data["nodes"])
        self.scene.message.emit(f"Copied {n} layer{'s' if n != 1 else ''}")
        return True

    def cut(self) -> None:
        if self.copy():
            self.delete_selection()

    def paste(self) -> list[str]:
        mime = QApplication.clipboard().mimeData()
        if mime is None or not mime.hasFormat(NODES_MIME):
            self.scene.message.emit("Nothing to paste: copy some layers first")
            return []
        try:
            data = parse_json(bytes(mime.data(NODES_MIME)).decode("utf-8"))  # another app's data: bounded
        except (ValueError, UnicodeDecodeError):
            return []
        return self.insert(data)

    def duplicate(self) -> list[str]:
        data = self.selection_data()
        return self.insert(data) if data else []

    def insert(self, data: dict) -> list[str]:
        """Add copies of serialised nodes (new ids) and their internal edges, as one step."""
        nodes = [n for n in data.get("nodes", []) if n.get("type") in self.graph.catalog]
        if not nodes:
            return []
        occupied = {tuple(n.pos) for n in self.graph}
        offset = PASTE_OFFSET
        first = nodes[0].get("pos", [0, 0])
        while (first[0] + offset, first[1] + offset) in occupied:
            offset += PASTE_OFFSET
        taken: set[str] = set()
        new_ids: dict[str, str] = {}
        commands = []
        for node in nodes:
            new_id = self.graph.unique_id(node["id"], taken)
            taken.add(new_id)
            new_ids[node["id"]] = new_id
            x, y = node.get("pos", [0, 0])
            commands.append(AddNode(new_id, node["type"], dict(node.get("params") or {}), (x + offset, y + offset)))
        for e in data.get("edges", []):
            if e.get("source") in new_ids and e.get("target") in new_ids:
                commands.append(
                    Connect(new_ids[e["source"]], new_ids[e["target"]], e.get("source_port", 0), e.get("target_port", 0))
                )
        n = len(nodes)
        if not self._push(Macro(f"Paste {n} layer{'s' if n != 1 else ''}", commands)):
            return []
        self.scene.select_nodes(list(new_ids.values()))
        return list(new_ids.values())

    # ---- arranging -----------------------------------------------------------------
    def select_all(self) -> None:
        self.scene.select_nodes(list(self.graph.nodes))

    def auto_layout(self) -> None:
        """Lay the graph out to fit this canvas at a readable zoom (core/layout.py says how), then fit it."""
        size = self.view.viewport().size()
        targets = layout(self.graph, (size.width(), size.height()) if size.width() > 200 else None)
        moves = {n: (self.graph.node(n).pos, p) for n, p in targets.items() if self.graph.node(n).pos != p}
        if moves:
            self._push(Macro("Auto-layout", [MoveNodes(moves)]))
            self.scene.reroute()
        else:
            self.scene.message.emit("Already laid out")
        self.view.fit_all(max_scale=1.0)
