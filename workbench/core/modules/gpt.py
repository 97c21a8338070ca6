"""The modules behind GPTBlock and SwiGLU (see workbench/core/layers/gpt.py).

Self-contained (only math, torch, nn and F, and `feedforward_width` from the layer
module, which codegen copies with them). Training's activation checkpointing finds the
blocks as instances of `GPTBlock` here.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from workbench.core.layers.gpt import feedforward_width

__all__ = ["CausalSelfAttention", "GPTBlock", "MLP", "RotaryEmbedding", "SwiGLU"]


class RotaryEmbedding(nn.Module):
    """Rotary position embedding (RoPE): turns each pair of channels (i, i + D/2) of the
    queries or keys [N, H, T, D] by the angle position / base^(2i/D), so that q·k depends
    on how far apart two steps are. No weights; any sequence length."""

    def __init__(self, head_dim, base=10000.0):
        super().__init__()
        if head_dim % 2:
            raise ValueError(f"rotary embedding needs an even head dim, got {head_dim}")
        self.head_dim = head_dim
        self.base = base

    def forward(self, x):
        half = self.head_dim // 2
        inv_freq = self.base ** (-torch.arange(half, device=x.device, dtype=torch.float32) / half)
        angles = torch.outer(torch.arange(x.shape[-2], device=x.device, dtype=torch.float32), inv_freq)
        cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
        x1, x2 = x[..., :half], x[..., half:]
        return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)

    def extra_repr(self):
        return f"head_dim={self.head_dim}, base={self.base}"


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention over [N, T, d] in which step t sees steps 0..t only."""

    def __init__(self, d_model, nhead, dropout=0.0, bias=True, rope=True):
        super().__init__()
        if d_model % nhead:
            raise ValueError(f"nhead {nhead} must divide d_model {d_model}")
        self.nhead = nhead
        self.dropout = dropout
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=bias)
        self.proj = nn.Linear(d_model, d_model, bias=bias)
        self.resid_dropout = nn.Dropout(dropout)
        self.rotary = RotaryEmbedding(d_model // nhead) if rope else nn.Identity()

    def forward(self, x):
        n, t, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=2)
        q = q.view(n, t, self.nhead, d // self.nhead).transpose(1, 2)  # [N, H, T, D]
        k = k.view(n, t, self.nhead, d // self.nhead).transpose(1, 2)
        v = v.view(n, t, self.nhead, d // self.nhead).transpose(1, 2)
        q, k = self.rotary(q), self.rotary(k)
        dropout = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, is_causal=True)
        y = y.transpose(1, 2).reshape(n, t, d)
        return self.resid_dropout(self.proj(y))


class MLP(nn.Module):
    """Linear → GELU → Linear, as in GPT-2."""

    def __init__(self, d_model, hidden, bias=True):
        super().__init__()
        self.fc = nn.Linear(d_model, hidden, bias=bias)
        self.gelu = nn.GELU()
        self.proj = nn.Linear(hidden, d_model, bias=bias)

    def forward(self, x):
        return self.proj(self.gelu(self.fc(x)))


class SwiGLU(nn.Module):
    """SiLU-gated feed-forward (Shazeer 2020, as in LLaMA): down(silu(gate(x)) · up(x))."""

    def __init__(self, in_features, hidden_features, bias=True):
        super().__init__()
        self.gate = nn.Linear(in_features, hidden_features, bias=bias)
        self.up = nn.Linear(in_features, hidden_features, bias=bias)
        self.down = nn.Linear(hidden_features, in_features, bias=bias)

    def forward(self, x):
        return self.down(F.silu(self.gate(x)) * self.up(x))


class GPTBlock(nn.Module):
    """One decoder block over [N, T, d]: x + attn(norm(x)), then x + mlp(norm(x))."""

    def __init__(
        self,
        d_model,
        nhead=4,
        dim_feedforward=None,
        dropout=0.0,
        norm="layernorm",
        mlp="gelu",
        rope=True,
        bias=True,
    ):
        super().__init__()
        if norm not in ("layernorm", "rmsnorm"):
            raise ValueError(f"norm must be 'layernorm' or 'rmsnorm', got {norm!r}")
        if mlp not in ("gelu", "swiglu"):
            raise ValueError(f"mlp must be 'gelu' or 'swiglu', got {mlp!r}")
        hidden = dim_feedforward or feedforward_width(d_model, mlp)
        self.ln_1 = nn.RMSNorm(d_model, eps=1e-5) if norm == "rmsnorm" else nn.LayerNorm(d_model, bias=bias)
        self.attn = CausalSelfAttention(d_model, nhead, dropout=dropout, bias=bias, rope=rope)
        self.ln_2 = nn.RMSNorm(d_model, eps=1e-5) if norm == "rmsnorm" else nn.LayerNorm(d_model, bias=bias)
        self.mlp = SwiGLU(d_model, hidden, bias=bias) if mlp == "swiglu" else MLP(d_model, hidden, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = x + self.dropout(self.mlp(self.ln_2(x)))
        return x
