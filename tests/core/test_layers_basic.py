"""io, dense, activation, shape and merge layers: formulas against real forward passes."""

import pytest

from tests.core.layer_checks import assert_layer_matches
from workbench.core.catalog import CatalogError, Catalog, default_catalog
from workbench.core.layers.dense import LINEAR
from workbench.core.params import ParamError
from workbench.core.tensors import INT, ShapeError, TensorInfo

F = TensorInfo


def infer(type_name, params, *inputs):
    spec = default_catalog().get(type_name)
    return spec.infer(list(inputs), spec.resolve(params))


@pytest.mark.parametrize("shape", [(7,), (4, 7), (1, 1)])
@pytest.mark.parametrize("params", [{"out_features": 5}, {"out_features": 1, "bias": False}])
def test_linear(shape, params):
    assert_layer_matches("Linear", params, [F(shape)])


@pytest.mark.parametrize("shape", [(3,), (2, 5), (2, 3, 4)])
def test_identity(shape):
    assert_layer_matches("Identity", {}, [F(shape)])
    assert_layer_matches("Identity", {}, [F(shape, INT)])


ACTIVATIONS = [
    ("ReLU", {}),
    ("LeakyReLU", {"negative_slope": 0.2}),
    ("ELU", {"alpha": 0.5}),
    ("GELU", {"approximate": "tanh"}),
    ("SiLU", {}),
    ("Mish", {}),
    ("Tanh", {}),
    ("Sigmoid", {}),
    ("Softmax", {}),
    ("Softmax", {"dim": 1}),
    ("LogSoftmax", {}),
    ("LogSoftmax", {"dim": 1}),
]


@pytest.mark.parametrize("type_name, params", ACTIVATIONS)
@pytest.mark.parametrize("shape", [(6,), (3, 4), (2, 3, 4)])
def test_activations(type_name, params, shape):
    assert_layer_matches(type_name, params, [F(shape)])


@pytest.mark.parametrize(
    "params, shape",
    [({}, (2, 3, 4)), ({"start_dim": 2}, (2, 3, 4)), ({"start_dim": 1, "end_dim": 2}, (2, 3, 4)), ({"end_dim": -2}, (5, 6))],
)
def test_flatten(params, shape):
    assert_layer_matches("Flatten", params, [F(shape)])


@pytest.mark.parametrize("target, shape", [([-1], (2, 3, 4)), ([4, 6], (2, 3, 4)), ([2, -1, 2], (8,)), ([24], (24,))])
def test_reshape(target, shape):
    assert_layer_matches("Reshape", {"shape": target}, [F(shape)])


@pytest.mark.parametrize("dims, shape", [([0, 2, 1], (3, 5)), ([0, 3, 1, 2], (2, 3, 4)), ([0, -1, 1, 2], (2, 3, 4))])
def test_permute(dims, shape):
    assert_layer_matches("Permute", {"dims": dims}, [F(shape)])


@pytest.mark.parametrize("params, shape", [({}, (3, 5)), ({"dim0": -1, "dim1": 1}, (2, 3, 4)), ({"dim0": 2, "dim1": 2}, (2, 3))])
def test_transpose(params, shape):
    assert_layer_matches("Transpose", params, [F(shape)])


@pytest.mark.parametrize("type_name", ["Add", "Multiply"])
@pytest.mark.parametrize(
    "shapes", [[(4,), (4,)], [(3, 4, 4), (3, 1, 1)], [(1, 5), (6, 5), (6, 1)], [(2, 3, 4), (2, 3, 4), (2, 3, 4)]]
)
def test_broadcasting_merges(type_name, shapes):
    assert_layer_matches(type_name, {}, [F(s) for s in shapes])


@pytest.mark.parametrize(
    "params, shapes",
    [({}, [(4,), (3,)]), ({"dim": 2}, [(2, 3, 4), (2, 5, 4)]), ({"dim": -1}, [(2, 3), (2, 1), (2, 4)]), ({"dim": 1}, [(3, 4), (5, 4)])],
)
def test_concat(params, shapes):
    assert_layer_matches("Concat", params, [F(s) for s in shapes])


@pytest.mark.parametrize(
    "type_name, params, inputs, message",
    [
        ("Linear", {}, [F(())], r"Linear expects \[N, …, F\] but gets \[N\]"),
        ("Linear", {}, [F((8,), INT)], "needs float input but gets int64"),
        ("Softmax", {"dim": 0}, [F((4,))], "dim=0 is the batch dimension"),
        ("Softmax", {"dim": 3}, [F((4,))], "dim=3 is out of range for a rank-2 tensor"),
        ("Flatten", {"start_dim": 0}, [F((4, 4))], "start_dim=0 is the batch dimension"),
        ("Flatten", {"start_dim": 2, "end_dim": 1}, [F((4, 4))], "end_dim=1 comes before start_dim=2"),
        ("Reshape", {"shape": [5, -1]}, [F((12,))], r"cannot reshape \[N, 12\] \(12 values per sample\) to \[N, 5, -1\]"),
        ("Reshape", {"shape": [5, 2]}, [F((12,))], r"\(10 values\)"),
        ("Permute", {"dims": [0, 1]}, [F((3, 4))], "must list all 3 dimensions"),
        ("Permute", {"dims": [1, 0, 2]}, [F((3, 4))], "keep the batch dimension first"),
        ("Permute", {"dims": [0, 1, 1]}, [F((3, 4))], "not a permutation"),
        ("Transpose", {"dim0": 0, "dim1": 1}, [F((3, 4))], "dim0=0 is the batch dimension"),
        ("Add", {}, [F((4,)), F((4,), INT)], "mix dtypes"),
        ("Add", {}, [F((4,)), F((3, 4))], "different ranks"),
        ("Multiply", {}, [F((2, 4)), F((3, 4))], r"cannot broadcast \[N, 2, 4\], \[N, 3, 4\]: dimension 1 differs \(2 vs 3\)"),
        ("Concat", {"dim": 1}, [F((2, 4)), F((3, 5))], "dimension 2 differs"),
        ("Concat", {"dim": 0}, [F((2,)), F((2,))], "batch dimension"),
    ],
)
def test_shape_errors_say_what_to_do(type_name, params, inputs, message):
    with pytest.raises(ShapeError, match=message):
        infer(type_name, params, *inputs)


@pytest.mark.parametrize(
    "type_name, params, field",
    [
        ("Reshape", {"shape": [-1, -1]}, "shape"),
        ("Reshape", {"shape": [0, 3]}, "shape"),
        ("Linear", {"out_features": 2.5}, "out_features"),
        ("Linear", {"bias": 1}, "bias"),
        ("GELU", {"approximate": "fast"}, "approximate"),
        ("Input", {"shape": []}, "shape"),
        ("Input", {"shape": [0, 3]}, "shape"),
        ("Input", {"dtype": "float16"}, "dtype"),
    ],
)
def test_param_errors_name_the_field(type_name, params, field):
    with pytest.raises(ParamError) as info:
        default_catalog().get(type_name).resolve(params)
    assert info.value.name == field


def test_input_declares_per_sample_shape():
    assert infer("Input", {"shape": [1, 8, 8]}) == [F((1, 8, 8))]
    assert infer("Input", {"shape": [16], "dtype": "int64"}) == [F((16,), INT)]


def test_duplicate_layer_names_are_refused():
    catalog = Catalog()
    catalog.register(LINEAR)
    with pytest.raises(CatalogError, match="already registered"):
        catalog.register(LINEAR)


def test_every_builtin_is_documented():
    for spec in default_catalog():
        assert spec.doc and spec.category, spec.name
        for p in spec.params:
            assert p.help, f"{spec.name}.{p.name} has no help text"
            if not p.optional:
                p.validate(p.default)
