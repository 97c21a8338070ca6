"""Conv, pool, norm and regularisation layers: shape and FLOPs formulas against torch,
and the messages a user sees when a layer cannot take its input."""

from __future__ import annotations

import inspect

import pytest
import torch
from torch import nn

from tests.core.layer_checks import assert_layer_matches, run_layer
from workbench.core.catalog import default_catalog
from workbench.core.layers import conv, norm, pool, regularisation
from workbench.core.modules import pool as pool_modules
from workbench.core.params import CHOICE, FLOAT, INT, INTS, PADDING, ParamError
from workbench.core.tensors import INT as INT64
from workbench.core.tensors import ShapeError, TensorInfo

pytestmark = [
    pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel"),
    pytest.mark.filterwarnings("ignore:dropout2d. Received a 3D input"),
]

FAMILIES = (conv, pool, norm, regularisation)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """The tensors here are tiny: extra intra-op threads only spin against each other,
    which made this module ~20x slower on a loaded 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
ALL_SPECS = [spec for family in FAMILIES for spec in family.SPECS]


def infer(name: str, params: dict, shape: tuple[int, ...], dtype: str = "float32") -> TensorInfo:
    spec = default_catalog().get(name)
    (out,) = spec.infer([TensorInfo(shape, dtype)], spec.resolve(params))
    return out


def resolve(name: str, params: dict) -> dict:
    return default_catalog().get(name).resolve(params)


def _cases(shapes, param_sets):
    return [pytest.param(shape, params, id=f"{shape}-{params}") for shape in shapes for params in param_sets]


# --- catalog entries ------------------------------------------------------------------


def test_families_register_in_order():
    names = default_catalog().names()
    assert [s.name for s in conv.SPECS] == ["Conv1d", "Conv2d", "ConvTranspose2d"]
    assert [s.name for s in pool.SPECS] == [
        "MaxPool1d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "GlobalAvgPool",
    ]
    assert [s.name for s in norm.SPECS] == ["BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm", "RMSNorm"]
    assert [s.name for s in regularisation.SPECS] == ["Dropout", "Dropout2d"]
    for spec in ALL_SPECS:
        assert spec.name in names


@pytest.mark.parametrize("spec", ALL_SPECS, ids=lambda s: s.name)
def test_spec_is_documented(spec):
    family = spec.construct.__module__.rsplit(".", 1)[-1]
    assert spec.category == family
    assert spec.doc and "\n" not in spec.doc
    assert spec.infer is not None and spec.flops is not None
    for param in spec.params:
        assert param.help, f"{spec.name}.{param.name} has no help text"
        if param.kind in (INT, FLOAT, INTS, PADDING):
            assert param.min is not None and param.max is not None, f"{spec.name}.{param.name} has no range"
        if param.kind in (CHOICE, PADDING):
            assert param.choices
        # the default is valid
        param.validate(param.default)


@pytest.mark.parametrize("spec", ALL_SPECS, ids=lambda s: s.name)
def test_params_are_torch_constructor_names(spec):
    """Every param is a keyword of the torch class (LayerNorm.normalized_dims aside)."""
    cls = getattr(nn, spec.name, None) or getattr(pool_modules, spec.name)
    accepted = set(inspect.signature(cls.__init__).parameters)
    for param in spec.params:
        if (spec.name, param.name) == ("LayerNorm", "normalized_dims"):
            continue
        assert param.name in accepted, f"{spec.name}.{param.name} is not a {cls.__name__} argument"


@pytest.mark.parametrize("spec", ALL_SPECS, ids=lambda s: s.name)
def test_int64_input_is_refused(spec):
    shape = (4, 8) if spec.name.endswith("1d") else (4, 8, 8)
    with pytest.raises(ShapeError, match=f"{spec.name} needs float input but gets int64 token ids; insert an Embedding"):
        spec.infer([TensorInfo(shape, INT64)], spec.resolve({}))


def test_constructor_gets_inferred_sizes_and_tuples():
    spec = default_catalog().get("Conv2d")
    x = TensorInfo((1, 28, 28))
    ctor = spec.constructor([x], spec.resolve({"kernel_size": [3, 5], "padding": [1, 2]}))
    assert ctor.qualname == "nn.Conv2d"
    assert ctor.kwargs == {
        "in_channels": 1, "out_channels": 16, "kernel_size": (3, 5), "stride": 1, "padding": (1, 2),
        "dilation": 1, "groups": 1, "bias": True, "padding_mode": "zeros",
    }
    module = ctor.build()
    assert module.kernel_size == (3, 5) and module.padding == (1, 2)

    ln = default_catalog().get("LayerNorm")
    ctor = ln.constructor([TensorInfo((16, 7, 7))], ln.resolve({"normalized_dims": 2}))
    assert ctor.qualname == "nn.LayerNorm"
    assert ctor.kwargs["normalized_shape"] == (7, 7)

    bn = default_catalog().get("BatchNorm2d")
    ctor = bn.constructor([TensorInfo((32, 7, 7))], bn.resolve({}))
    assert ctor.kwargs == {"num_features": 32, "eps": 1e-5, "momentum": 0.1, "affine": True, "track_running_stats": True}

    gn = default_catalog().get("GroupNorm")
    ctor = gn.constructor([TensorInfo((32, 7, 7))], gn.resolve({"num_groups": 4}))
    assert ctor.kwargs == {"num_groups": 4, "num_channels": 32, "eps": 1e-5, "affine": True}


def test_global_avg_pool_source_is_self_contained():
    source = inspect.getsource(pool_modules.GlobalAvgPool)
    namespace = {"torch": torch, "nn": nn}
    exec(source, namespace)
    module = namespace["GlobalAvgPool"]()
    x = torch.randn(2, 3, 4, 5)
    assert torch.allclose(module(x), x.mean(dim=(2, 3)))
    x = torch.randn(2, 3, 7)
    assert torch.allclose(module(x), x.mean(dim=2))


# --- Conv -----------------------------------------------------------------------------

CONV2D_PARAMS = [
    {},
    {"out_channels": 8, "kernel_size": 5},
    {"kernel_size": [3, 5]},
    {"kernel_size": 1},
    {"stride": 2},
    {"stride": [2, 1], "kernel_size": 4},
    {"padding": 1},
    {"padding": [2, 0], "kernel_size": [5, 3]},
    {"padding": "same"},
    {"padding": "same", "kernel_size": 4},
    {"padding": "same", "kernel_size": [2, 5], "dilation": [3, 2]},
    {"padding": "valid", "kernel_size": 2},
    {"dilation": 2},
    {"dilation": [1, 2], "stride": 3, "padding": 1},
    {"groups": 2, "out_channels": 6},
    {"groups": 4, "out_channels": 4},  # depthwise
    {"bias": False, "stride": 3, "kernel_size": 3},
    {"padding": 1, "padding_mode": "reflect"},
    {"padding": [2, 1], "padding_mode": "replicate", "kernel_size": 5},
    {"padding": 2, "padding_mode": "circular", "stride": 2},
    {"padding": "same", "padding_mode": "reflect", "kernel_size": 4},
]


@pytest.mark.parametrize(("shape", "params"), _cases([(4, 16, 16), (4, 9, 11), (4, 6, 7)], CONV2D_PARAMS))
def test_conv2d_matches_torch(shape, params):
    assert_layer_matches("Conv2d", params, [TensorInfo(shape)])


@pytest.mark.parametrize(
    ("shape", "params"),
    [
        ((1, 1, 1), {"kernel_size": 1}),
        ((3, 1, 1), {"padding": "same"}),
        ((3, 3, 3), {"kernel_size": 5, "padding": 1}),  # kernel exactly fills the padded input
        ((2, 2, 9), {"kernel_size": [1, 3], "stride": [1, 4]}),
        ((3, 5, 5), {"kernel_size": 5, "padding": "same", "padding_mode": "circular"}),
        ((3, 3, 3), {"kernel_size": 7, "padding": 3, "padding_mode": "circular"}),
        ((3, 3, 3), {"kernel_size": 5, "padding": 2, "padding_mode": "reflect"}),
        ((3, 2, 2), {"kernel_size": 11, "padding": 5, "padding_mode": "replicate"}),
    ],
)
def test_conv2d_edge_sizes(shape, params):
    assert_layer_matches("Conv2d", params, [TensorInfo(shape)])


def test_conv2d_known_shapes():
    assert infer("Conv2d", {"out_channels": 32}, (1, 28, 28)).shape == (32, 26, 26)
    assert infer("Conv2d", {"padding": "same", "kernel_size": 4}, (3, 9, 9)).shape == (16, 9, 9)
    assert infer("Conv2d", {"kernel_size": 7, "stride": 2, "padding": 3}, (3, 224, 224)).shape == (16, 112, 112)


CONV1D_PARAMS = [
    {},
    {"out_channels": 4, "kernel_size": 7},
    {"kernel_size": [5]},
    {"stride": 3, "padding": 2},
    {"padding": [1]},
    {"padding": "same", "kernel_size": 6, "dilation": 3},
    {"padding": "valid"},
    {"dilation": 4, "stride": 2},
    {"groups": 3, "out_channels": 9},
    {"groups": 6, "out_channels": 6, "bias": False},
    {"padding": 2, "padding_mode": "reflect"},
    {"padding": 3, "padding_mode": "circular", "stride": 2},
    {"padding": 1, "padding_mode": "replicate"},
]


@pytest.mark.parametrize(("shape", "params"), _cases([(6, 32), (6, 13), (6, 9)], CONV1D_PARAMS))
def test_conv1d_matches_torch(shape, params):
    assert_layer_matches("Conv1d", params, [TensorInfo(shape)])


CONV_T_PARAMS = [
    {},
    {"kernel_size": 2, "stride": 2},
    {"kernel_size": 4, "stride": 2, "padding": 1},
    {"kernel_size": [3, 5], "stride": [2, 3], "padding": [1, 2]},
    {"kernel_size": 3, "stride": 2, "padding": 1, "output_padding": 1},
    {"kernel_size": 3, "stride": [3, 2], "output_padding": [2, 1]},
    {"dilation": 2, "output_padding": 1},
    {"dilation": [2, 3], "stride": 2, "padding": [2, 1]},
    {"groups": 2, "out_channels": 6, "stride": 2},
    {"groups": 4, "out_channels": 4, "bias": False},
    {"kernel_size": 1, "padding": 0},
]


@pytest.mark.parametrize(("shape", "params"), _cases([(4, 7, 7), (4, 1, 1), (4, 5, 8)], CONV_T_PARAMS))
def test_conv_transpose2d_matches_torch(shape, params):
    assert_layer_matches("ConvTranspose2d", params, [TensorInfo(shape)])


def test_conv_transpose2d_known_shapes():
    assert infer("ConvTranspose2d", {"kernel_size": 2, "stride": 2, "out_channels": 8}, (16, 7, 7)).shape == (8, 14, 14)
    out = infer("ConvTranspose2d", {"kernel_size": 3, "stride": 2, "padding": 1, "output_padding": 1}, (16, 7, 7))
    assert out.shape == (16, 14, 14)


# --- Conv errors ------------------------------------------------------------------------


def test_conv2d_rank_errors_name_the_fix():
    with pytest.raises(ShapeError, match=r"^Conv2d expects \[N, C, H, W\] but gets \[N, 64\]: insert a Reshape before it \(e\.g\. shape \[1, 8, 8\]\)$"):
        infer("Conv2d", {}, (64,))
    with pytest.raises(ShapeError, match=r"Conv2d expects \[N, C, H, W\] but gets \[N, 10\]: insert a Reshape before it \(e\.g\. shape \[1, 1, 10\]\)"):
        infer("Conv2d", {}, (10,))
    with pytest.raises(ShapeError, match=r"Conv2d expects \[N, C, H, W\] but gets \[N, 16, 100\]: use Conv1d, or insert a Reshape before it \(e\.g\. shape \[1, 16, 100\]\)"):
        infer("Conv2d", {}, (16, 100))
    with pytest.raises(ShapeError, match=r"Conv2d expects \[N, C, H, W\] but gets \[N, 2, 3, 4, 5\]: insert a Flatten with start_dim=2, end_dim=3"):
        infer("Conv2d", {}, (2, 3, 4, 5))


def test_conv1d_rank_errors_name_the_fix():
    with pytest.raises(ShapeError, match=r"Conv1d expects \[N, C, L\] but gets \[N, 3, 8, 8\]: use Conv2d, or insert a Flatten with start_dim=2, end_dim=3 before it"):
        infer("Conv1d", {}, (3, 8, 8))
    with pytest.raises(ShapeError, match=r"Conv1d expects \[N, C, L\] but gets \[N, 40\]: insert a Reshape before it \(e\.g\. shape \[1, 40\]\)"):
        infer("Conv1d", {}, (40,))


def test_conv_transpose2d_rank_error():
    with pytest.raises(ShapeError, match=r"ConvTranspose2d expects \[N, C, H, W\] but gets \[N, 49\]: insert a Reshape before it \(e\.g\. shape \[1, 7, 7\]\)"):
        infer("ConvTranspose2d", {}, (49,))


def test_conv_kernel_larger_than_input():
    with pytest.raises(ShapeError, match=r"^Conv2d kernel 5×5 is larger than the padded input 3×3: use a smaller kernel_size"):
        infer("Conv2d", {"kernel_size": 5}, (1, 3, 3))
    with pytest.raises(ShapeError, match=r"Conv2d kernel 3×7 is larger than the padded input 4×6"):
        infer("Conv2d", {"kernel_size": [3, 7], "padding": 1}, (1, 2, 4))
    with pytest.raises(ShapeError, match=r"Conv2d kernel 3×3 with dilation 3×3 spans 7×7, which is larger than the padded input 5×5"):
        infer("Conv2d", {"dilation": 3}, (1, 5, 5))
    with pytest.raises(ShapeError, match=r"Conv1d kernel 9 is larger than the padded input 7"):
        infer("Conv1d", {"kernel_size": 9, "padding": "valid"}, (2, 7))


def test_conv_groups_must_divide_channels():
    with pytest.raises(ShapeError, match=r"Conv2d groups=4 needs input channels divisible by 4, but \[N, 6, 8, 8\] has 6 channels"):
        infer("Conv2d", {"groups": 4, "out_channels": 8}, (6, 8, 8))
    with pytest.raises(ShapeError, match=r"ConvTranspose2d groups=2 needs input channels divisible by 2, but \[N, 3, 4, 4\] has 3 channels"):
        infer("ConvTranspose2d", {"groups": 2}, (3, 4, 4))
    with pytest.raises(ParamError, match=r"^out_channels: must be divisible by groups=4, got 6$"):
        resolve("Conv2d", {"groups": 4, "out_channels": 6})
    with pytest.raises(ParamError, match=r"^out_channels: must be divisible by groups=3, got 16$"):
        resolve("ConvTranspose2d", {"groups": 3})


def test_conv_same_padding_needs_stride_1():
    with pytest.raises(ParamError, match=r"^padding: 'same' needs stride 1 \(torch refuses it for strided convolutions\), got stride 2; give an explicit padding"):
        resolve("Conv2d", {"padding": "same", "stride": 2})
    with pytest.raises(ParamError, match=r"got stride 1×2"):
        resolve("Conv2d", {"padding": "same", "stride": [1, 2]})
    with pytest.raises(ParamError, match=r"got stride 3"):
        resolve("Conv1d", {"padding": "same", "stride": 3})
    resolve("Conv2d", {"padding": "valid", "stride": 2})


def test_conv_padding_mode_limits():
    with pytest.raises(ShapeError, match=r"Conv2d padding_mode='reflect' needs padding smaller than the input, but pads 3 on a size-3 dimension of \[N, 2, 3, 8\]"):
        infer("Conv2d", {"kernel_size": 7, "padding": 3, "padding_mode": "reflect"}, (2, 3, 8))
    # 'same' with an even kernel pads 2 before and 3 after
    with pytest.raises(ShapeError, match=r"padding_mode='reflect' needs padding smaller than the input, but pads 3 on a size-3"):
        infer("Conv2d", {"kernel_size": 6, "padding": "same", "padding_mode": "reflect"}, (2, 3, 3))
    with pytest.raises(ShapeError, match=r"Conv1d padding_mode='circular' can pad at most the input size, but pads 4 on a size-3 dimension"):
        infer("Conv1d", {"kernel_size": 9, "padding": 4, "padding_mode": "circular"}, (2, 3))


def test_conv_param_validation():
    with pytest.raises(ParamError, match=r"padding: must be one of 'same', 'valid', got 'full'"):
        resolve("Conv2d", {"padding": "full"})
    with pytest.raises(ParamError, match=r"kernel_size: needs 2 values, got 3"):
        resolve("Conv2d", {"kernel_size": [3, 3, 3]})
    with pytest.raises(ParamError, match=r"stride: must be at least 1, got 0"):
        resolve("Conv1d", {"stride": 0})
    with pytest.raises(ParamError, match=r"out_channels: must be at least 1"):
        resolve("ConvTranspose2d", {"out_channels": 0})


def test_conv_transpose2d_errors():
    with pytest.raises(ParamError, match=r"^output_padding: must be smaller than stride or dilation \(here below 2\), got 2$"):
        resolve("ConvTranspose2d", {"stride": 2, "output_padding": 2})
    with pytest.raises(ParamError, match=r"output_padding: must be smaller than stride or dilation \(here below 1\), got 0×1$"):
        resolve("ConvTranspose2d", {"output_padding": [0, 1]})
    resolve("ConvTranspose2d", {"dilation": 3, "output_padding": 2})
    with pytest.raises(ShapeError, match=r"^ConvTranspose2d output would be 0×2 for input 2×4: padding 3×3 crops more"):
        infer("ConvTranspose2d", {"kernel_size": 5, "padding": 3}, (2, 2, 4))
    with pytest.raises(ShapeError, match=r"output would be -1×-1 for input 3×3"):
        infer("ConvTranspose2d", {"padding": 3}, (2, 3, 3))


# --- Pool -----------------------------------------------------------------------------

MAXPOOL2D_PARAMS = [
    {},
    {"kernel_size": 3},
    {"kernel_size": 3, "stride": 2},
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": [2, 3], "stride": [1, 2], "padding": [1, 1]},
    {"kernel_size": 2, "dilation": 2},
    {"kernel_size": 3, "dilation": [2, 1], "padding": 1, "stride": 1},
    {"kernel_size": 3, "stride": 2, "ceil_mode": True},
    {"kernel_size": 2, "ceil_mode": True},
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
    {"kernel_size": 4, "stride": 3, "padding": 2, "dilation": 2, "ceil_mode": True},
]


@pytest.mark.parametrize(("shape", "params"), _cases([(3, 16, 16), (3, 7, 9), (3, 5, 6)], MAXPOOL2D_PARAMS))
def test_maxpool2d_matches_torch(shape, params):
    assert_layer_matches("MaxPool2d", params, [TensorInfo(shape)])


@pytest.mark.parametrize(
    ("shape", "params", "expected"),
    [
        ((1, 4, 4), {"kernel_size": 5, "stride": 2, "ceil_mode": True}, (1, 1, 1)),  # partial window
        ((1, 5, 5), {"kernel_size": 2, "ceil_mode": True}, (1, 3, 3)),
        ((1, 5, 5), {"kernel_size": 2}, (1, 2, 2)),
        # the last window would start in the right padding, so ceil_mode drops it
        ((1, 6, 6), {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True}, (1, 4, 4)),
        ((1, 1, 1), {"kernel_size": 1}, (1, 1, 1)),
    ],
)
def test_maxpool2d_ceil_mode_edges(shape, params, expected):
    (out,) = assert_layer_matches("MaxPool2d", params, [TensorInfo(shape)])
    assert out.shape == expected


MAXPOOL1D_PARAMS = [
    {},
    {"kernel_size": 3, "stride": 1, "padding": 1},
    {"kernel_size": [4], "stride": [3], "padding": [2]},
    {"kernel_size": 3, "dilation": 3},
    {"kernel_size": 3, "stride": 2, "ceil_mode": True},
    {"kernel_size": 5, "stride": 4, "padding": 2, "ceil_mode": True},
]


@pytest.mark.parametrize(("shape", "params"), _cases([(2, 32), (2, 11), (2, 8)], MAXPOOL1D_PARAMS))
def test_maxpool1d_matches_torch(shape, params):
    assert_layer_matches("MaxPool1d", params, [TensorInfo(shape)])


AVGPOOL2D_PARAMS = [
    {},
    {"kernel_size": 3, "stride": 1, "padding": 1},
    {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False},
    {"kernel_size": [2, 4], "stride": [2, 3]},
    {"kernel_size": 3, "stride": 2, "ceil_mode": True},
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False},
    {"kernel_size": 2, "divisor_override": 3},
]


@pytest.mark.parametrize(("shape", "params"), _cases([(3, 12, 12), (3, 7, 5)], AVGPOOL2D_PARAMS))
def test_avgpool2d_matches_torch(shape, params):
    assert_layer_matches("AvgPool2d", params, [TensorInfo(shape)])


@pytest.mark.parametrize(
    ("shape", "params"),
    _cases([(5, 16), (5, 7), (5, 1)], [{}, {"output_size": 4}, {"output_size": 7}, {"output_size": 20}]),
)
def test_adaptive_avgpool1d_matches_torch(shape, params):
    assert_layer_matches("AdaptiveAvgPool1d", params, [TensorInfo(shape)])


@pytest.mark.parametrize(
    ("shape", "params"),
    _cases([(5, 14, 14), (5, 7, 9), (5, 1, 1)], [{}, {"output_size": 7}, {"output_size": [2, 3]}, {"output_size": [1, 9]}]),
)
def test_adaptive_avgpool2d_matches_torch(shape, params):
    assert_layer_matches("AdaptiveAvgPool2d", params, [TensorInfo(shape)])


@pytest.mark.parametrize("shape", [(8, 7, 7), (3, 1, 1), (4, 5, 9), (6, 10), (2, 1)])
def test_global_avgpool_matches_torch(shape):
    (out,) = assert_layer_matches("GlobalAvgPool", {}, [TensorInfo(shape)])
    assert out.shape == (shape[0],)


def test_pool_errors():
    with pytest.raises(ShapeError, match=r"^MaxPool2d kernel 4×4 is larger than the padded input 3×3"):
        infer("MaxPool2d", {"kernel_size": 4}, (2, 3, 3))
    with pytest.raises(ShapeError, match=r"MaxPool2d kernel 3×3 with dilation 2×2 spans 5×5, which is larger than the padded input 4×4"):
        infer("MaxPool2d", {"kernel_size": 3, "dilation": 2}, (2, 4, 4))
    with pytest.raises(ShapeError, match=r"MaxPool1d kernel 5 is larger than the padded input 3"):
        infer("MaxPool1d", {"kernel_size": 5, "stride": 2, "ceil_mode": True}, (2, 3))
    with pytest.raises(ShapeError, match=r"AvgPool2d kernel 2×2 is larger than the padded input 1×1"):
        infer("AvgPool2d", {}, (2, 1, 1))
    with pytest.raises(ParamError, match=r"^padding: must be at most half the kernel size \(kernel 3×3 allows 1×1\), got 2×2$"):
        resolve("MaxPool2d", {"kernel_size": 3, "padding": 2})
    with pytest.raises(ParamError, match=r"padding: must be at most half the kernel size \(kernel 2×5 allows 1×2\), got 2×1"):
        resolve("AvgPool2d", {"kernel_size": [2, 5], "padding": [2, 1]})
    with pytest.raises(ParamError, match=r"padding: must be at most half the kernel size \(kernel 1 allows 0\), got 1"):
        resolve("MaxPool1d", {"kernel_size": 1, "padding": 1})
    with pytest.raises(ParamError, match=r"stride: must be at least 1, got 0"):
        resolve("MaxPool2d", {"stride": 0})


def test_pool_rank_errors():
    with pytest.raises(ShapeError, match=r"MaxPool2d expects \[N, C, H, W\] but gets \[N, 16, 50\]: use MaxPool1d"):
        infer("MaxPool2d", {}, (16, 50))
    with pytest.raises(ShapeError, match=r"MaxPool1d expects \[N, C, L\] but gets \[N, 16, 8, 8\]: use MaxPool2d"):
        infer("MaxPool1d", {}, (16, 8, 8))
    with pytest.raises(ShapeError, match=r"AvgPool2d expects \[N, C, H, W\] but gets \[N, 784\]: insert a Reshape before it \(e\.g\. shape \[1, 28, 28\]\)"):
        infer("AvgPool2d", {}, (784,))
    with pytest.raises(ShapeError, match=r"AdaptiveAvgPool2d expects \[N, C, H, W\] but gets \[N, 8, 20\]: use AdaptiveAvgPool1d"):
        infer("AdaptiveAvgPool2d", {}, (8, 20))
    with pytest.raises(ShapeError, match=r"AdaptiveAvgPool1d expects \[N, C, L\] but gets \[N, 8, 4, 4\]: use AdaptiveAvgPool2d"):
        infer("AdaptiveAvgPool1d", {}, (8, 4, 4))
    with pytest.raises(ShapeError, match=r"GlobalAvgPool expects \[N, C, L\] or \[N, C, H, W\] but gets \[N, 64\]: it is already pooled"):
        infer("GlobalAvgPool", {}, (64,))
    with pytest.raises(ShapeError, match=r"GlobalAvgPool expects .* but gets \[N, 2, 3, 4, 5\]: insert a Flatten"):
        infer("GlobalAvgPool", {}, (2, 3, 4, 5))


# --- Norm -----------------------------------------------------------------------------

BN_PARAMS = [
    {},
    {"eps": 1e-3, "momentum": 0.01},
    {"momentum": None},
    {"affine": False},
]


@pytest.mark.parametrize(("shape", "params"), _cases([(32,), (8, 20), (3, 1)], BN_PARAMS))
def test_batchnorm1d_matches_torch(shape, params):
    assert_layer_matches("BatchNorm1d", params, [TensorInfo(shape)])


@pytest.mark.parametrize(("shape", "params"), _cases([(16, 7, 7), (3, 1, 5)], BN_PARAMS))
def test_batchnorm2d_matches_torch(shape, params):
    assert_layer_matches("BatchNorm2d", params, [TensorInfo(shape)])


@pytest.mark.parametrize(("name", "shape"), [("BatchNorm1d", (4, 6)), ("BatchNorm2d", (4, 3, 3)), ("BatchNorm2d", (4, 1, 2))])
def test_batchnorm_without_running_stats(name, shape):
    # without running statistics even eval mode normalises over the batch
    assert_layer_matches(name, {"track_running_stats": False}, [TensorInfo(shape)], batches=(2, 3))


def test_batchnorm1d_without_running_stats_on_features():
    # [N, F] with batch 1 has one value per channel, which torch refuses; FLOPs are counted
    # at batch 1, so check the shape alone here
    params = {"track_running_stats": False}
    out = infer("BatchNorm1d", params, (10,))
    _, (y,) = run_layer("BatchNorm1d", params, [TensorInfo((10,))], batch=2)
    assert y.shape == out.full(2)


LN_CASES = [
    ((64,), {}),
    ((10, 32), {}),
    ((10, 32), {"normalized_dims": 2}),
    ((16, 5, 5), {"normalized_dims": 3, "eps": 1e-6}),
    ((16, 5, 5), {"normalized_dims": 2, "elementwise_affine": False}),
    ((7, 12), {"bias": False}),
    ((2, 3, 4), {"elementwise_affine": False, "bias": False}),
]


@pytest.mark.parametrize(("shape", "params"), LN_CASES)
def test_layernorm_matches_torch(shape, params):
    assert_layer_matches("LayerNorm", params, [TensorInfo(shape)])


GN_CASES = [
    ((32, 7, 7), {}),
    ((32, 7, 7), {"num_groups": 1}),
    ((32, 7, 7), {"num_groups": 32, "affine": False}),
    ((6, 10), {"num_groups": 3, "eps": 1e-3}),
    ((16,), {"num_groups": 4}),
    ((8, 2, 3, 4), {"num_groups": 2}),
]


@pytest.mark.parametrize(("shape", "params"), GN_CASES)
def test_groupnorm_matches_torch(shape, params):
    assert_layer_matches("GroupNorm", params, [TensorInfo(shape)])


def test_norm_errors():
    with pytest.raises(ShapeError, match=r"^BatchNorm1d expects \[N, F\] or \[N, C, L\] but gets \[N, 16, 8, 8\]: use BatchNorm2d$"):
        infer("BatchNorm1d", {}, (16, 8, 8))
    with pytest.raises(ShapeError, match=r"^BatchNorm2d expects \[N, C, H, W\] but gets \[N, 64\]: use BatchNorm1d$"):
        infer("BatchNorm2d", {}, (64,))
    with pytest.raises(ShapeError, match=r"BatchNorm2d expects \[N, C, H, W\] but gets \[N, 16, 30\]: use BatchNorm1d"):
        infer("BatchNorm2d", {}, (16, 30))
    with pytest.raises(ShapeError, match=r"BatchNorm2d expects \[N, C, H, W\] but gets \[N, 2, 3, 4, 5\]: insert a Flatten"):
        infer("BatchNorm2d", {}, (2, 3, 4, 5))
    with pytest.raises(ShapeError, match=r"^LayerNorm normalized_dims=3 but \[N, 64\] has only 1 dimension after the batch: set normalized_dims to at most 1$"):
        infer("LayerNorm", {"normalized_dims": 3}, (64,))
    with pytest.raises(ShapeError, match=r"has only 2 dimensions after the batch"):
        infer("LayerNorm", {"normalized_dims": 3}, (4, 5))
    with pytest.raises(ShapeError, match=r"^GroupNorm needs the channels divisible by num_groups, but 30 channels \(\[N, 30, 4, 4\]\) do not split into 8 groups: choose num_groups from 1, 2, 3, 5, 6, 10, 15, 30$"):
        infer("GroupNorm", {}, (30, 4, 4))
    with pytest.raises(ParamError, match=r"momentum: must be at most 1"):
        resolve("BatchNorm2d", {"momentum": 2})
    with pytest.raises(ParamError, match=r"normalized_dims: must be at least 1, got 0"):
        resolve("LayerNorm", {"normalized_dims": 0})
    with pytest.raises(ParamError, match=r"num_groups: must be at least 1, got 0"):
        resolve("GroupNorm", {"num_groups": 0})


# --- Regularisation -----------------------------------------------------------------


@pytest.mark.parametrize(("shape", "p"), [((10,), 0.5), ((3, 8, 8), 0.0), ((5, 7), 1.0), ((2, 3, 4, 5), 0.2)])
def test_dropout_matches_torch(shape, p):
    (out,) = assert_layer_matches("Dropout", {"p": p}, [TensorInfo(shape)])
    assert out == TensorInfo(shape)


@pytest.mark.parametrize(("shape", "p"), [((16, 8, 8), 0.5), ((3, 1, 1), 0.1), ((8, 20), 0.3), ((4, 9), 1.0)])
def test_dropout2d_matches_torch(shape, p):
    (out,) = assert_layer_matches("Dropout2d", {"p": p}, [TensorInfo(shape)])
    assert out == TensorInfo(shape)


def test_dropout_in_training_zeroes_values():
    spec = default_catalog().get("Dropout2d")
    module = spec.build([TensorInfo((64, 2, 2))], spec.resolve({"p": 0.5})).train()
    y = module(torch.ones(4, 64, 2, 2))
    channel_sums = y.sum(dim=(2, 3))
    assert set(channel_sums.unique().tolist()) <= {0.0, 8.0}  # whole channels dropped, the rest scaled by 2


def test_regularisation_errors():
    with pytest.raises(ParamError, match=r"^p: must be at most 1, got 1\.5$"):
        resolve("Dropout", {"p": 1.5})
    with pytest.raises(ParamError, match=r"^p: must be at least 0, got -0\.1$"):
        resolve("Dropout2d", {"p": -0.1})
    with pytest.raises(ShapeError, match=r"^Dropout2d expects \[N, C, L\] or \[N, C, H, W\] but gets \[N, 128\]: use Dropout$"):
        infer("Dropout2d", {}, (128,))
    with pytest.raises(ShapeError, match=r"Dropout2d expects .* but gets \[N, 2, 3, 4, 5\]: insert a Flatten with start_dim=2, end_dim=3"):
        infer("Dropout2d", {}, (2, 3, 4, 5))
