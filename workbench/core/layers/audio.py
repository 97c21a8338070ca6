"""Placeholder: filled in by the layer family work."""

SPECS = ()
