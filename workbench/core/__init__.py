"""Qt-free core: graph, layer catalog, shape inference, compile, codegen, project file."""
