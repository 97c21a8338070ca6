"""The torch modules behind the built-in layers that torch.nn lacks.

They live apart from their LayerSpecs (workbench/core/layers), which name them by
dotted path, so the catalog, shape inference and the summary load without torch;
a module here is imported only when a graph is built.
"""
