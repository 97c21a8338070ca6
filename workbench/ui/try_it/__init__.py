"""The Try-it dock: the trained model on the user's own input (pictures, a drawing, sound, text, a table row)."""

from workbench.ui.try_it.dock import TryItPanel, install_try_it_panel

__all__ = ["TryItPanel", "install_try_it_panel"]
