"""Element-wise activations, the (log-)softmax over one dimension, and GLU."""

from __future__ import annotations

from workbench.core.catalog import Constructor, LayerSpec, no_flops
from workbench.core.params import CHOICE, FLOAT, INT, Param
from workbench.core.tensors import ShapeError, TensorInfo, require_float, sample_dim


def _activation(name: str, doc: str, params: tuple[Param, ...] = ()) -> LayerSpec:
    def infer(inputs, p):
        require_float(name, inputs[0])
        if "dim" in p:
            sample_dim(p["dim"], inputs[0].rank)
        return [inputs[0]]

    return LayerSpec(
        name=name,
        category="activation",
        doc=doc,
        params=params,
        construct=lambda inputs, p: Constructor(f"torch.nn.{name}", dict(p), f"nn.{name}"),
        infer=infer,
        flops=no_flops,
    )


def _infer_glu(inputs, p):
    (x,) = inputs
    require_float("GLU", x)
    axis = sample_dim(p["dim"], x.rank)
    size = x.shape[axis]
    if size % 2:
        raise ShapeError(f"GLU halves dim {p['dim']}, which must be even, but it is {size} in {x}")
    return [TensorInfo(x.shape[:axis] + (size // 2,) + x.shape[axis + 1 :])]


GLU = LayerSpec(
    name="GLU",
    category="activation",
    doc="Gated linear unit: splits `dim` in halves a, b and returns a·sigmoid(b) (half the size).",
    params=(Param("dim", INT, -1, "Dimension to split (batch is 0; negatives count from the end)"),),
    construct=lambda inputs, p: Constructor("torch.nn.GLU", dict(p), "nn.GLU"),
    infer=_infer_glu,
    flops=no_flops,
)


SPECS = (
    _activation("ReLU", "max(0, x): the default non-linearity."),
    _activation(
        "LeakyReLU",
        "ReLU with a small slope for negative inputs, so units never die.",
        (Param("negative_slope", FLOAT, 0.01, "Slope for x < 0", min=0.0, max=1.0),),
    ),
    _activation("ELU", "Exponential linear unit: smooth for x < 0.", (Param("alpha", FLOAT, 1.0, "Saturation value for x < 0", min=0.0),)),
    _activation(
        "GELU",
        "Gaussian error linear unit, as in Transformers.",
        (Param("approximate", CHOICE, "none", "'tanh' uses the faster approximation", choices=("none", "tanh")),),
    ),
    _activation("SiLU", "x·sigmoid(x) (Swish)."),
    _activation("Mish", "x·tanh(softplus(x))."),
    _activation("Tanh", "Hyperbolic tangent, output in (-1, 1)."),
    _activation("Sigmoid", "Logistic function, output in (0, 1)."),
    _activation(
        "Softmax",
        "Normalises to probabilities along `dim`. Leave it out before CrossEntropyLoss, which expects logits.",
        (Param("dim", INT, -1, "Dimension to normalise (batch is 0; negatives count from the end)"),),
    ),
    _activation(
        "LogSoftmax",
        "log(softmax(x)) along `dim`; pair with NLLLoss.",
        (Param("dim", INT, -1, "Dimension to normalise (batch is 0; negatives count from the end)"),),
    ),
    GLU,
)
