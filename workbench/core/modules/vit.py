"""The modules behind PatchEmbedding, ClassToken and TransformerDecoder (see workbench/core/layers/vit.py)."""

from __future__ import annotations

import torch
from torch import nn


class PatchEmbedding(nn.Module):
    """ViT patchify: a patch_size-strided conv, then patches as a sequence [N, H·W/p², E]."""

    def __init__(self, in_channels, embed_dim, patch_size=16, bias=True):
        super().__init__()
        self.proj = nn.Conv2d(in_channels, embed_dim, patch_size, stride=patch_size, bias=bias)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class ClassToken(nn.Module):
    """Prepend a learned [1, E] token to every sequence [N, T, E] -> [N, T+1, E] (ViT's CLS)."""

    def __init__(self, embed_dim):
        super().__init__()
        self.token = nn.Parameter(torch.zeros(1, 1, embed_dim))

    def forward(self, x):
        return torch.cat([self.token.expand(x.shape[0], -1, -1), x], dim=1)


class TransformerDecoderStack(nn.Module):
    """num_layers nn.TransformerDecoderLayer blocks (batch first): the target [N, T, E]
    attends to itself (causally by default) and to the memory [N, S, E]."""

    def __init__(self, d_model, nhead=4, num_layers=2, dim_feedforward=2048, dropout=0.1, activation="relu",
                 layer_norm_eps=1e-5, norm_first=False, bias=True, causal=True):
        super().__init__()
        self.causal = causal
        layer = nn.TransformerDecoderLayer(
            d_model, nhead, dim_feedforward=dim_feedforward, dropout=dropout, activation=activation,
            layer_norm_eps=layer_norm_eps, batch_first=True, norm_first=norm_first, bias=bias,
        )
        self.decoder = nn.TransformerDecoder(layer, num_layers)

    def forward(self, target, memory):
        mask = None
        if self.causal:
            t = target.shape[1]
            mask = torch.triu(target.new_ones(t, t, dtype=torch.bool), diagonal=1)
        return self.decoder(target, memory, tgt_mask=mask, tgt_is_causal=self.causal)

    def extra_repr(self):
        return f"causal={self.causal}"
