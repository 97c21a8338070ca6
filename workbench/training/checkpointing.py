"""Activation checkpointing: trade compute for memory on the blocks that hold the most.

With `training.activation_checkpointing: true`, every block of a known kind runs its
forward under `torch.utils.checkpoint.checkpoint(..., use_reentrant=False)` while the
model trains: the block keeps only its input, and its activations are recomputed in the
backward pass. Gradients are the same; memory per block drops to one input tensor.

Which modules are blocks is an allow-list: the classes in `BLOCKS` (GPTBlock and torch's
Transformer layers), plus any class that says so itself with a class attribute
`activation_checkpointing = True` (a plugin layer can). Only the outermost block is wrapped when blocks nest. Evaluation
and no-grad passes run the plain forward.
"""

from __future__ import annotations

from functools import wraps

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from workbench.core.modules.gpt import GPTBlock

__all__ = ["BLOCKS", "is_block", "enable_activation_checkpointing"]

BLOCKS: tuple[type[nn.Module], ...] = (GPTBlock, nn.TransformerEncoderLayer, nn.TransformerDecoderLayer)
_WRAPPED = "_workbench_checkpointed"


def is_block(module: nn.Module) -> bool:
    return isinstance(module, BLOCKS) or getattr(type(module), "activation_checkpointing", False) is True


def enable_activation_checkpointing(model: nn.Module) -> list[str]:
    """Wrap the forward of every outermost block of `model` in place; returns their names."""
    wrapped: list[str] = []
    inside: list[str] = []
    for name, module in model.named_modules():
        if any(outer == "" or name.startswith(outer + ".") for outer in inside) or not is_block(module):
            continue
        inside.append(name)
        if not getattr(module, _WRAPPED, False):
            module.forward = _checkpointed(module, module.forward)
            setattr(module, _WRAPPED, True)
        wrapped.append(name)
    return wrapped


def _checkpointed(module: nn.Module, forward):
    @wraps(forward)
    def run(*args, **kwargs):
        if module.training and torch.is_grad_enabled():
            return checkpoint(forward, *args, use_reentrant=False, **kwargs)
        return forward(*args, **kwargs)

    return run
