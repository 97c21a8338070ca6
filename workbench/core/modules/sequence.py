"""The modules behind PositionalEncoding, MultiheadAttention, TransformerEncoder,
TransformerDecoderLayer and SequencePool (see workbench/core/layers/sequence.py).

Self-contained: codegen copies their source into a standalone file that has only math,
torch, nn and F in scope.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class PositionalEncoding(nn.Module):
    """Adds a position vector to every time step of [N, T, E], then applies dropout.

    kind="sinusoidal": the fixed sin/cos table of "Attention Is All You Need" (any E, odd
    included); kind="learned": a trained [max_len, E] table. T must not exceed max_len.
    """

    def __init__(self, d_model, kind="sinusoidal", max_len=512, dropout=0.0):
        super().__init__()
        if kind not in ("sinusoidal", "learned"):
            raise ValueError(f"kind must be 'sinusoidal' or 'learned', got {kind!r}")
        self.kind = kind
        self.dropout = nn.Dropout(dropout)
        if kind == "learned":
            self.pe = nn.Parameter(torch.zeros(max_len, d_model))
            nn.init.normal_(self.pe, std=0.02)
        else:
            position = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)
            div = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model))
            pe = torch.zeros(max_len, d_model)
            pe[:, 0::2] = torch.sin(position * div)
            pe[:, 1::2] = torch.cos(position * div[: d_model // 2])
            self.register_buffer("pe", pe, persistent=False)

    def forward(self, x):
        return self.dropout(x + torch.narrow(self.pe, 0, 0, x.shape[1]))

    def extra_repr(self):
        return f"kind={self.kind!r}, max_len={self.pe.shape[0]}, d_model={self.pe.shape[1]}"


class SelfAttention(nn.Module):
    """Multi-head self-attention over [N, T, E] (batch first); returns only the output.

    causal=True lets step t attend to steps 0..t only.
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, causal=False):
        super().__init__()
        self.causal = causal
        self.attn = nn.MultiheadAttention(embed_dim, num_heads, dropout=dropout, bias=bias, batch_first=True)

    def forward(self, x):
        mask = None
        if self.causal:
            t = x.shape[1]
            mask = torch.triu(x.new_ones(t, t, dtype=torch.bool), diagonal=1)
        out, _ = self.attn(x, x, x, need_weights=False, attn_mask=mask, is_causal=self.causal)
        return out

    def extra_repr(self):
        return f"causal={self.causal}"


class TransformerEncoderStack(nn.Module):
    """num_layers nn.TransformerEncoderLayer blocks (batch first) over [N, T, E].

    causal=True masks each step from attending to later ones (GPT-style).
    """

    def __init__(
        self,
        d_model,
        nhead=4,
        num_layers=2,
        dim_feedforward=2048,
        dropout=0.1,
        activation="relu",
        layer_norm_eps=1e-5,
        norm_first=False,
        bias=True,
        causal=False,
    ):
        super().__init__()
        self.causal = causal
        layer = nn.TransformerEncoderLayer(
            d_model,
            nhead,
            dim_feedforward=dim_feedforward,
            dropout=dropout,
            activation=activation,
            layer_norm_eps=layer_norm_eps,
            batch_first=True,
            norm_first=norm_first,
            bias=bias,
        )
        self.encoder = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)

    def forward(self, x):
        mask = None
        if self.causal:
            t = x.shape[1]
            mask = torch.triu(x.new_ones(t, t, dtype=torch.bool), diagonal=1)
        return self.encoder(x, mask=mask, is_causal=self.causal)

    def extra_repr(self):
        return f"causal={self.causal}"


class TransformerDecoderBlock(nn.Module):
    """One nn.TransformerDecoderLayer (batch first): self-attention over the target
    [N, T, E] (causal by default), then attention to the memory [N, S, E], then a
    feed-forward network."""

    def __init__(
        self,
        d_model,
        nhead=4,
        dim_feedforward=2048,
        dropout=0.1,
        activation="relu",
        layer_norm_eps=1e-5,
        norm_first=False,
        bias=True,
        causal=True,
    ):
        super().__init__()
        self.causal = causal
        self.layer = nn.TransformerDecoderLayer(
            d_model,
            nhead,
            dim_feedforward=dim_feedforward,
            dropout=dropout,
            activation=activation,
            layer_norm_eps=layer_norm_eps,
            batch_first=True,
            norm_first=norm_first,
            bias=bias,
        )

    def forward(self, target, memory):
        mask = None
        if self.causal:
            t = target.shape[1]
            mask = torch.triu(target.new_ones(t, t, dtype=torch.bool), diagonal=1)
        return self.layer(target, memory, tgt_mask=mask, tgt_is_causal=self.causal)

    def extra_repr(self):
        return f"causal={self.causal}"


class SequencePool(nn.Module):
    """Reduces [N, T, F] to [N, F] over time: mean, max, or the last or first step."""

    def __init__(self, mode="mean"):
        super().__init__()
        if mode not in ("mean", "max", "last", "first"):
            raise ValueError(f"mode must be 'mean', 'max', 'last' or 'first', got {mode!r}")
        self.mode = mode

    def forward(self, x):
        if self.mode == "mean":
            return x.mean(dim=1)
        if self.mode == "max":
            return x.amax(dim=1)
        if self.mode == "last":
            return x[:, -1]
        return x[:, 0]

    def extra_repr(self):
        return f"mode={self.mode!r}"
