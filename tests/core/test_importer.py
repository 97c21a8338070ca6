"""`workbench import`: existing PyTorch models become graphs that reproduce them exactly."""

from __future__ import annotations

import json
import textwrap

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tests.plugins.helpers import fresh_catalog
from workbench.core.codegen import codegen
from workbench.core.compile import class_name, compile_graph
from workbench.core.graph import Graph
from workbench.core.importer import ImportFailure, import_model, save_weights
from workbench.core.project import load_project, save_project
from workbench.core.shapes import infer_shapes

TOLERANCE = 1e-5


# ---- small hand-written models (imported as tests.core.test_importer:NAME) --------------------


class SkipLSTM(nn.Module):
    """[N, T, 8] -> ([N, 4], [N, 16]): a residual around an LSTM, a GRU's last state, a
    sequence-first LSTM (not batch first: it stays inside an FxModule) and two outputs."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(8, 16)
        self.lstm = nn.LSTM(16, 16, batch_first=True)
        self.norm = nn.LayerNorm(16)
        self.gru = nn.GRU(16, 12, batch_first=True)
        self.seq_first = nn.LSTM(16, 6)
        self.head = nn.Linear(12 + 6, 4)

    def forward(self, x):
        h = F.relu(self.proj(x))
        out, (hn, cn) = self.lstm(h)
        y = self.norm(out + h)  # the skip connection
        _, last = self.gru(y)
        s, _ = self.seq_first(y.transpose(0, 1))
        features = torch.cat([last[-1], s[-1]], dim=1)
        return self.head(features) * 0.5, out.mean(1)


class Tokens(nn.Module):
    """int64 token ids [N, T] -> [N, 3]."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(50, 8, padding_idx=0)
        self.rnn = nn.LSTM(8, 10, num_layers=2, batch_first=True)
        self.fc = nn.Linear(10, 3)

    def forward(self, ids):
        _, (h, _) = self.rnn(self.embed(ids))
        return self.fc(h[-1])


class InPlace(nn.Module):
    """In-place ops whose input is read again afterwards, and a batch-dependent reshape."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 6)
        self.scale = nn.Parameter(torch.linspace(0.5, 1.5, 6))

    def forward(self, x):
        a = self.fc(x)
        b = a.relu_()
        c = (a + b) * self.scale
        return c.view(c.size(0), 2, 3).flatten(1)


class DropPath(nn.Module):
    def __init__(self):
        super().__init__()
        from torchvision.ops import StochasticDepth

        self.fc = nn.Linear(4, 4)
        self.drop = StochasticDepth(0.5, "row")

    def forward(self, x):
        return x + self.drop(self.fc(x))


class DataDependent(nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x
        return -x


def needs_arguments(width):
    return nn.Linear(width, width)


# ---- helpers ----------------------------------------------------------------------------------


def reload(result, tmp_path, catalog):
    """Save project + weights, load both back the way a user would, compile."""
    project_path = save_project(result.project, tmp_path / "imported.wbproj")
    weights_path = save_weights(tmp_path / "imported.pt", result.state_dict)
    project = load_project(project_path, catalog)
    model = compile_graph(project.graph, project.name)
    model.load_state_dict(torch.load(weights_path, weights_only=True)["model"])
    return project, model.eval()


def max_diff(a, b) -> float:
    a = a if isinstance(a, (tuple, list)) else [a]
    b = b if isinstance(b, (tuple, list)) else [b]
    assert len(a) == len(b)
    return max(float((x - y).abs().max()) for x, y in zip(a, b))


def edges_point_down(graph: Graph) -> bool:
    return all(graph.nodes[e.target].pos[1] > graph.nodes[e.source].pos[1] for e in graph.edges)


# ---- torchvision ------------------------------------------------------------------------------

TORCHVISION = {"resnet18": set(), "mobilenet_v3_small": set(), "squeezenet1_0": set()}  # Hardswish and Hardsigmoid map since issue 15


@pytest.mark.parametrize("name", list(TORCHVISION))
def test_torchvision_models_reproduce(name, tmp_path):
    torchvision = pytest.importorskip("torchvision")
    catalog = fresh_catalog()
    result = import_model(f"torchvision.models:{name}", [(3, 64, 64)], catalog=catalog)
    assert result.ok, result.text()
    assert result.max_diff <= TOLERANCE
    assert {what.split(" ")[0] for _, what in result.unmapped} == TORCHVISION[name]
    project, model = reload(result, tmp_path, catalog)
    assert project.extra["imported"]["source"] == f"torchvision.models:{name}"
    assert edges_point_down(project.graph)
    assert len({n.pos for n in project.graph}) == len(project.graph)  # no two nodes on one spot
    torch.manual_seed(0)
    original = getattr(torchvision.models, name)(weights=None).eval()
    x = torch.randn(4, 3, 64, 64, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        assert max_diff(model(x), original(x)) <= TOLERANCE


def test_resnet_maps_every_layer_onto_the_catalog(tmp_path):
    pytest.importorskip("torchvision")
    result = import_model("torchvision.models:resnet18", [(3, 32, 32)], catalog=fresh_catalog())
    graph = result.project.graph
    types = {n.type for n in graph}
    assert types == {"Input", "Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "Add", "AdaptiveAvgPool2d",
                     "Flatten", "Linear", "Output"}
    conv = graph.nodes["layer2_0_downsample_0"]
    assert conv.params == {"out_channels": 128, "kernel_size": 1, "stride": 2, "bias": False}
    assert conv.extra["origin"] == "layer2.0.downsample.0"
    assert set(result.state_dict) == set(compile_graph(graph).state_dict())


# ---- hand-written models ----------------------------------------------------------------------


def test_skip_connection_and_recurrent_layers(tmp_path):
    catalog = fresh_catalog()
    result = import_model("tests.core.test_importer:SkipLSTM", [(5, 8)], catalog=catalog)
    assert result.ok, result.text()
    graph = result.project.graph
    assert graph.nodes["lstm"].type == "LSTM" and graph.nodes["lstm"].params == {"hidden_size": 16}
    assert graph.nodes["gru"].params == {"hidden_size": 12, "output": "last"}
    assert graph.nodes["add"].type == "Add" and {e.source for e in graph.in_edges("add")} == {"lstm", "relu"}
    assert [n.type for n in graph if n.type == "Output"] == ["Output", "Output"]
    fx_nodes = {n.id: json.loads(n.params.get("modules", "{}")) for n in graph if n.type == "FxModule"}
    assert any(m.get("seq_first", {}).get("target") == "torch.nn:LSTM" for m in fx_nodes.values())
    project, model = reload(result, tmp_path, catalog)
    torch.manual_seed(0)
    original = SkipLSTM().eval()
    x = torch.randn(3, 5, 8)
    with torch.no_grad():
        assert max_diff(model(x), original(x)) <= TOLERANCE
    namespace: dict = {}  # the standalone source, FxModule included
    exec(compile(codegen(project.graph, project.name), "skip.py", "exec"), namespace)
    standalone = namespace[class_name(project.name)]().eval()
    standalone.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert max_diff(standalone(x), original(x)) <= TOLERANCE


def test_token_ids_import_as_int64(tmp_path):
    result = import_model("tests.core.test_importer:Tokens", [(7,)], catalog=fresh_catalog())
    assert result.ok, result.text()
    graph = result.project.graph
    assert graph.nodes["ids"].params == {"shape": [7], "dtype": "int64"}
    assert graph.nodes["rnn"].params == {"hidden_size": 10, "num_layers": 2, "output": "last"}
    assert not result.unmapped


def test_in_place_ops_and_batch_sized_reshapes():
    result = import_model("tests.core.test_importer:InPlace", [(6,)], catalog=fresh_catalog())
    assert result.ok, result.text()
    types = [n.type for n in result.project.graph]
    assert "Reshape" in types and "Flatten" in types  # the view(batch, 2, 3) needs no batch size
    (scale,) = [n for n in result.project.graph if n.type == "FxModule"]
    assert json.loads(scale.params.get("tensors", "{}"))["scale"]["parameter"] is True


def test_a_file_path_and_a_factory_function(tmp_path):
    source = tmp_path / "my_model.py"
    source.write_text(textwrap.dedent('''
        from torch import nn

        def small():
            return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
    '''))
    result = import_model(f"{source}:small", [(1, 8, 8)], catalog=fresh_catalog())
    assert result.ok and result.project.name == "small"
    assert [n.type for n in result.project.graph] == ["Input", "Conv2d", "ReLU", "Flatten", "Linear", "Output"]


def test_training_only_behaviour_follows_the_compiled_models_mode():
    pytest.importorskip("torchvision")
    result = import_model("tests.core.test_importer:DropPath", [(4,)], catalog=fresh_catalog())
    assert result.ok, result.text()
    (drop,) = [n for n in result.project.graph if n.type == "StochasticDepth"]  # torchvision's stochastic_depth
    assert drop.params == {"p": 0.5} and not result.unmapped  # mode "row" is the default
    model = compile_graph(result.project.graph)
    model.load_state_dict(result.state_dict)
    x = torch.ones(64, 4)
    with torch.no_grad():
        model.train()
        dropped = (model(x) == 1).all(dim=1).sum()
        model.eval()
        assert (model(x) != 1).any(dim=1).all() and 5 < int(dropped) < 60


@pytest.mark.parametrize(
    "ref, shapes, message",
    [
        ("no.such.module:thing", [(3,)], "cannot import no.such.module"),
        ("torchvision.models:no_such_model", [(3,)], "has no 'no_such_model'"),
        ("nowhere/model.py:Net", [(3,)], "nowhere/model.py: no such file"),
        ("resnet18", [(3,)], "give MODULE_PATH as package.module:factory"),
        ("tests.core.test_importer:needs_arguments", [(3,)], "needs arguments (width)"),
        ("tests.core.test_importer:DataDependent", [(3,)], "torch.fx cannot trace"),
        ("tests.core.test_importer:SkipLSTM", [(5, 8), (2,)], "takes 1 input(s) (x) but 2 --input-shape"),
        ("tests.core.test_importer:SkipLSTM", [(5, 9)], "fails on input [N, 5, 9]: RuntimeError"),
    ],
)
def test_mistakes_are_import_failures(ref, shapes, message):
    with pytest.raises(ImportFailure) as info:
        import_model(ref, shapes, catalog=fresh_catalog())
    assert message in str(info.value)


# ---- the command line ---------------------------------------------------------------------------


def test_cli_import_with_weights(tmp_path, capsys):
    from workbench.cli import main

    out = tmp_path / "skip.wbproj"
    code = main(["import", "tests.core.test_importer:SkipLSTM", "--input-shape", "5,8", "--weights", "-o", str(out)])
    stdout, err = capsys.readouterr()
    assert code == 0, stdout + err
    assert "imported tests.core.test_importer:SkipLSTM: 14 nodes" in stdout
    assert "reproduces the original" in stdout and f"wrote {out}" in stdout
    checkpoint = torch.load(tmp_path / "skip.pt", weights_only=True)
    project = load_project(out)
    assert project.extra["imported"]["weights"] == "skip.pt"
    model = compile_graph(project.graph)
    model.load_state_dict(checkpoint["model"])  # keys are the new node ids
    assert main(["validate", str(out)]) == 0


@pytest.mark.parametrize(
    "argv, message",
    [
        (["tests.core.test_importer:DataDependent", "--input-shape", "3"], "torch.fx cannot trace"),
        (["tests.core.test_importer:SkipLSTM", "--input-shape", "5,x"], "must be whole numbers"),
    ],
)
def test_cli_import_mistakes(argv, message, tmp_path, capsys):
    from workbench.cli import main

    out = tmp_path / "m.wbproj"
    assert main(["import", *argv, "-o", str(out)]) == 2
    stdout, err = capsys.readouterr()
    assert stdout == "" and err.startswith("error: ") and message in err and len(err.splitlines()) == 1
    assert not out.exists()


# ---- FxModule refuses what a project file should not be able to run ------------------------------


@pytest.mark.parametrize(
    "params, message",
    [
        ({"expr": '{"call": "os:remove", "args": ["TARGET"]}'}, "'os:remove' is not a function FxModule may call"),
        ({"expr": '{"call": "torch:load", "args": ["TARGET"]}'}, "'torch:load' is not a function FxModule may call"),
        ({"expr": '{"call": "builtins:eval", "args": ["1"]}'}, "'builtins:eval' is not a function FxModule may call"),
        ({"expr": '{"method": "__class__", "self": {"input": 0}}'}, "method '__class__' is not one FxModule calls"),
        ({"expr": '{"attr": "__dict__", "of": {"input": 0}}'}, "attribute '__dict__' is not one FxModule reads"),
        ({"expr": '{"module": "m", "args": [{"input": 0}]}', "modules": '{"m": {"target": "subprocess:Popen"}}'},
         "'subprocess:Popen' is not a torch.nn module FxModule may own"),
        ({"expr": '{"call": "torch:zeros_like", "args": [{"input": 0}], "kwargs": {"dtype": {"dtype": "load"}}}'},
         "'load' is not a dtype FxModule knows"),
        ({"expr": '{"call": "torch:cond", "args": [true, 1, 2, []]}'}, "'torch:cond' is not a function FxModule may call"),
        ({"expr": '{"module": "m"}', "modules": '{"m": {"target": "antigravity:Anything"}}'},
         "'antigravity:Anything' is not a torch.nn module FxModule may own"),
        ({"expr": "{not json"}, "is not valid JSON"),
    ],
)
def test_fx_module_refuses_unsafe_targets(params, message, tmp_path):
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    params = {k: v.replace("TARGET", str(target)) for k, v in params.items()}
    catalog = fresh_catalog()
    import_model("tests.core.test_importer:InPlace", [(6,)], catalog=catalog)  # registers FxModule
    graph = Graph(catalog)
    graph.add_node("x", "Input", {"shape": [6]})
    graph.add_node("fx", "FxModule", params)
    graph.add_node("out", "Output")
    graph.connect("x", "fx")
    graph.connect("fx", "out")
    (problem,) = infer_shapes(graph).for_node("fx")
    assert message in problem.text
    assert target.read_text() == "keep me"


# ---- layout ---------------------------------------------------------------------------------------


def test_layout_runs_chains_straight_down_and_branches_side_by_side():
    from workbench.core.layout import COLUMN, ROW, layered_positions

    nodes = ["x", "a", "b", "skip", "add", "out"]
    edges = [("x", "a"), ("a", "b"), ("x", "skip"), ("b", "add"), ("skip", "add"), ("add", "out")]
    pos = layered_positions(nodes, edges)
    assert pos["x"] == (0, 0) and pos["out"][1] == 4 * ROW
    assert pos["a"][1] == pos["skip"][1] == ROW and abs(pos["a"][0] - pos["skip"][0]) == COLUMN
    assert pos["add"][1] == 3 * ROW  # below the longer branch
    assert all(pos[t][1] > pos[s][1] for s, t in edges)
    assert len(set(pos.values())) == len(nodes)


# ---- the allow-list as documented ------------------------------------------------------------------

_KIND_ORDER = ("tensor", "int", "float", "bool", "none", "dtype", "device", "memory_format", "slice", "ellipsis", "seq")


def _kinds(args) -> str:
    parts = [k for k in _KIND_ORDER if k in args.kinds]
    parts += [f'"{s}"' for s in sorted(args.strings)]
    if args.pattern:
        parts.append(f"text matching `{args.pattern}`")
    return ", ".join(parts) or "—"


def allowlist_markdown() -> str:
    """The docs/import.md section listing every allow-list entry, from the table itself."""
    from workbench.core import fx_allowlist as allow

    lines = [f"### Functions ({len(allow.FUNCTIONS)})", "", "| entry | arguments may be |", "| --- | --- |"]
    lines += [f"| `{ref}` | {_kinds(args)} |" for ref, args in allow.FUNCTIONS.items()]
    lines += ["", f"### Tensor methods ({len(allow.METHODS)})", "", "| method | arguments may be |", "| --- | --- |"]
    lines += [f"| `{name}` | {_kinds(args)} |" for name, args in allow.METHODS.items()]
    lines += ["", f"### Tensor attributes ({len(allow.ATTRIBUTES)})", "",
              ", ".join(f"`{a}`" for a in sorted(allow.ATTRIBUTES))]
    lines += ["", f"### torch.nn modules ({len(allow.MODULES)})", "", "| module | init arguments |", "| --- | --- |"]
    for ref, init in allow.MODULES.items():
        text = "; ".join(f"`{k}`: {_kinds(v)}" for k, v in init.items()) or "—"
        lines.append(f"| `{ref}` | {text} |")
    lines += ["", f"### dtypes ({len(allow.DTYPES)}) and memory formats ({len(allow.MEMORY_FORMATS)})", "",
              ", ".join(f"`{d}`" for d in sorted(allow.DTYPES)) + "; " +
              ", ".join(f"`{m}`" for m in sorted(allow.MEMORY_FORMATS))]
    return "\n".join(lines)


def test_docs_list_every_allow_list_entry():
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "import.md").read_text(encoding="utf-8")
    begin, end = "<!-- allow-list:begin -->\n", "\n<!-- allow-list:end -->"
    assert begin in text and end in text, "docs/import.md lost its allow-list markers"
    documented = text.split(begin, 1)[1].split(end, 1)[0]
    assert documented == allowlist_markdown(), "regenerate the section with tests.core.test_importer:allowlist_markdown()"


def test_every_allow_list_entry_resolves_to_what_it_claims():
    from workbench.core import fx_allowlist as allow

    for ref in allow.FUNCTIONS:
        fn, _ = allow.allowed_function(ref)
        assert callable(fn) and (not isinstance(fn, type) or fn in (int, float, bool)), ref
    for ref in allow.MODULES:
        cls, _ = allow.allowed_module(ref)
        assert isinstance(cls, type) and issubclass(cls, nn.Module), ref
    for name in allow.METHODS:
        assert callable(allow.allowed_method(name)[0]), name
    x = torch.zeros(2, 3)
    for name in allow.ATTRIBUTES:
        assert allow.kind_of(allow.allowed_attribute(name).__get__(x)) is not None, name
