"""Issue 15's layers refuse what torch would refuse (or silently get wrong) with a message
that names the problem, and their less obvious semantics hold against torch."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from workbench.core.catalog import default_catalog
from workbench.core.compile import compile_graph
from workbench.core.graph import Graph
from workbench.core.params import ParamError
from workbench.core.shapes import infer_shapes
from workbench.core.tensors import INT, ShapeError, TensorInfo

T = TensorInfo


def infer(name, params, *inputs):
    spec = default_catalog().get(name)
    return spec.infer(list(inputs), spec.resolve(params))


@pytest.mark.parametrize(
    "name, params, inputs, message",
    [
        ("Conv3d", {}, [T((3, 8, 8))], r"Conv3d expects rank 5 but gets \[N, 3, 8, 8\]: use Conv2d"),
        ("ConvTranspose1d", {"padding": 5}, [T((2, 3))], "crops more than the layer produces"),
        ("DepthwiseSeparableConv2d", {"kernel_size": 9, "padding": 0}, [T((3, 4, 4))], "larger than the padded input"),
        ("MaxPool3d", {}, [T((3, 8, 8))], "use MaxPool2d"),
        ("InstanceNorm2d", {}, [T((3, 1, 1))], "only one position per channel"),
        ("InstanceNorm1d", {}, [T((3, 4, 4))], "use InstanceNorm2d"),
        ("ChannelLayerNorm", {}, [T((8,))], "use LayerNorm"),
        ("Softmax2d", {}, [T((3, 4))], "use Softmax with dim=1"),
        ("Dropout1d", {}, [T((3, 4, 4))], "use Dropout2d"),
        ("Upsample", {"mode": "bilinear"}, [T((3, 8))], "use mode 'nearest' or 'nearest-exact' or 'linear'"),
        ("Upsample", {"size": [4, 4, 4]}, [T((3, 8, 8))], "gives 3 sizes but .* has 2 spatial dimensions"),
        ("PixelShuffle", {"upscale_factor": 2}, [T((6, 4, 4))], "channels divisible by 4"),
        ("PixelUnshuffle", {}, [T((3, 5, 4))], "height and width divisible by 2"),
        ("ReflectionPad", {"padding": 4}, [T((3, 4, 4))], "reflection needs padding smaller than the size"),
        ("ZeroPad2d", {"padding": 1}, [T((4,))], "pads 2 trailing dimensions, but .* has only 1"),
        ("Squeeze", {"dim": 1}, [T((3, 4))], "dimension 1 of .* has size 3"),
        ("Unsqueeze", {"dim": 0}, [T((3,))], "0 is the batch"),
        ("Unflatten", {"dim": 1, "unflattened_size": [3, 3]}, [T((8,))], "multiply to 9, but dim 1"),
        ("Slice", {"start": 5}, [T((3,))], "is empty"),
        ("Select", {"index": 3}, [T((3,))], r"out of range .* \(valid: -3..2\)"),
        ("Repeat", {"repeats": [2]}, [T((3, 4))], "one value per dimension"),
        ("Expand", {"shape": [4, 4]}, [T((2, 4))], "can only grow size-1 dimensions"),
        ("Split", {"split_size": [2, 2]}, [T((5,))], "add up to 4"),
        ("Split", {"split_size": 1}, [T((9,))], "at most 8 outputs"),
        ("Stack", {}, [T((3,)), T((4,))], "one shape and dtype"),
        ("Mean", {"dim": 0}, [T((3,))], "batch dimension"),
        ("Mean", {"dim": [1, -1]}, [T((3,))], "the same dimension twice"),
        ("MatMul", {}, [T((3, 4)), T((5, 6))], "a's last size 4 must equal b's second-to-last 5; insert a Transpose"),
        ("MatMul", {}, [T((3, 4)), T((4,))], "need the same rank"),
        ("Bilinear", {}, [T((3, 4)), T((2, 4))], "differ only in their last size"),
        ("CosineSimilarity", {}, [T((3,)), T((4,))], "inputs of one shape"),
        ("PatchEmbedding", {"patch_size": 16}, [T((3, 8, 8))], "larger than the padded input"),
        ("ClassToken", {}, [T((3, 8, 8))], r"expects \[N, T, E\]"),
        ("TransformerDecoder", {"nhead": 2}, [T((5, 8)), T((3, 6))], "insert a Linear with out_features=8"),
        ("EmbeddingBag", {}, [T((3, 4), INT)], r"one bag of token ids per sample, \[N, T\]"),
        ("MultiheadAttention", {"num_heads": 2}, [T((5, 8)), T((3, 8)), T((4, 8))], "need the same number of steps"),
        ("MultiheadAttention", {"num_heads": 2}, [T((5, 8)), T((4,), INT)], r"mask must be \[N, 5\]"),
        ("MultiheadAttention", {"num_heads": 2}, [T((5,), INT), T((5, 8))], "last an optional int64 key padding mask"),
        ("Linear", {}, [T(())], r"Linear expects \[N, …, F\]"),
    ],
)
def test_shape_errors_name_the_problem(name, params, inputs, message):
    with pytest.raises(ShapeError, match=message):
        infer(name, params, *inputs)


@pytest.mark.parametrize(
    "name, params, field",
    [
        ("Hardtanh", {"min_val": 1.0, "max_val": 0.0}, "max_val"),
        ("Upsample", {"scale_factor": None}, "scale_factor"),
        ("Upsample", {"mode": "nearest", "align_corners": True}, "align_corners"),
        ("ZeroPad2d", {"padding": [1, 2]}, "padding"),
        ("ConstantPad", {"padding": [1, 2, 3]}, "padding"),
        ("ConvTranspose3d", {"stride": 2, "output_padding": 2}, "output_padding"),
        ("EmbeddingBag", {"num_embeddings": 5, "padding_idx": 5}, "padding_idx"),
        ("Unflatten", {"unflattened_size": [-1, -1]}, "unflattened_size"),
    ],
)
def test_parameter_errors_name_the_field(name, params, field):
    with pytest.raises(ParamError) as caught:
        default_catalog().get(name).resolve(params)
    assert caught.value.name == field


def test_upsample_size_wins_over_the_default_scale():
    assert infer("Upsample", {"size": [5, 7], "mode": "bilinear"}, T((3, 8, 8))) == [T((3, 5, 7))]
    module = default_catalog().get("Upsample").build([T((3, 8, 8))], default_catalog().get("Upsample").resolve({"size": 5}))
    assert module(torch.randn(1, 3, 8, 8)).shape == (1, 3, 5, 5)


def _graph(*edges, nodes):
    g = Graph()
    for node_id, kind, params in nodes:
        g.add_node(node_id, kind, params)
    for source, target, source_port, target_port in edges:
        g.connect(source, target, source_port=source_port, target_port=target_port)
    return g


def test_an_edge_from_a_missing_piece_is_an_error_on_its_target():
    g = _graph(("x", "split", 0, 0), ("split", "a", 1, 0), ("split", "b", 3, 0), ("a", "y", 0, 0), ("b", "z", 0, 0),
               nodes=[("x", "Input", {"shape": [6]}), ("split", "Split", {"split_size": 2}), ("a", "ReLU", {}),
                      ("b", "ReLU", {}), ("y", "Output", {}), ("z", "Output", {})])
    result = infer_shapes(g)
    assert [(d.node_id, d.message) for d in result.diagnostics] == [
        ("b", "input 0 comes from output 3 of split, which makes only 3")
    ]
    assert result.output("a") == T((2,))


def test_split_pieces_reach_their_outputs_in_order():
    g = _graph(("x", "chunk", 0, 0), ("chunk", "y0", 0, 0), ("chunk", "y1", 1, 0),
               nodes=[("x", "Input", {"shape": [5]}), ("chunk", "Chunk", {"chunks": 2}), ("y0", "Output", {}),
                      ("y1", "Output", {})])
    x = torch.randn(2, 5)
    a, b = compile_graph(g)(x)
    assert torch.equal(a, x[:, :3]) and torch.equal(b, x[:, 3:])


def test_attention_key_padding_mask_and_separate_inputs_match_torch():
    """query [N, 4, 8], key [N, 6, 6], value [N, 6, 10], mask [N, 6] int64 (non-zero: ignore)."""
    infos = [T((4, 8)), T((6, 6)), T((6, 10)), T((6,), INT)]
    spec = default_catalog().get("MultiheadAttention")
    torch.manual_seed(0)
    ours = spec.build(infos, spec.resolve({"num_heads": 2})).eval()
    reference = nn.MultiheadAttention(8, 2, kdim=6, vdim=10, batch_first=True).eval()
    reference.load_state_dict(ours.attn.state_dict())
    q, k, v = torch.randn(3, 4, 8), torch.randn(3, 6, 6), torch.randn(3, 6, 10)
    mask = torch.tensor([[0, 0, 0, 0, 0, 0], [0, 1, 0, 0, 1, 1], [1, 1, 1, 1, 1, 0]])
    with torch.no_grad():
        want, _ = reference(q, k, v, key_padding_mask=mask.bool())
        torch.testing.assert_close(ours(q, k, v, mask), want)
        self_only = spec.build([T((4, 8)), T((4,), INT)], spec.resolve({"num_heads": 2})).eval()  # query + mask
        reference = nn.MultiheadAttention(8, 2, batch_first=True).eval()
        reference.load_state_dict(self_only.attn.state_dict())
        want, _ = reference(q, q, q, key_padding_mask=mask[:, 2:].bool())
        torch.testing.assert_close(self_only(q, mask[:, 2:]), want)


def test_old_self_attention_projects_keep_their_parameters_and_state_dict_keys():
    """A MultiheadAttention saved before issue 15 (one input, the four old params) builds the
    same nn.MultiheadAttention under the same state dict keys (attn.in_proj_weight, ...)."""
    from workbench.core.modules.sequence import SelfAttention

    spec = default_catalog().get("MultiheadAttention")
    old = {"num_heads": 4, "dropout": 0.1, "bias": True, "causal": True}
    new = spec.build([T((5, 16))], spec.resolve(old))
    assert set(new.state_dict()) == set(SelfAttention(16, 4, dropout=0.1, causal=True).state_dict())
    x = torch.randn(2, 5, 16)
    torch.manual_seed(0)
    before = SelfAttention(16, 4, causal=True).eval()
    after = spec.build([T((5, 16))], spec.resolve({"num_heads": 4, "causal": True})).eval()
    after.load_state_dict(before.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(after(x), before(x))
