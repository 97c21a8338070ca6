"""The module behind MultiheadAttention (see workbench/core/layers/sequence.py): torch's
nn.MultiheadAttention on query, key and value inputs with an optional key padding mask."""

from __future__ import annotations

import torch
from torch import nn


class Attention(nn.Module):
    """nn.MultiheadAttention (batch first) on query, key and value inputs; key and value
    default to the query (self-attention), value to the key. An integer key padding mask
    [N, S] marks the key steps to ignore with non-zero values; causal=True lets query step
    t see key steps 0..t only."""

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, causal=False, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None):
        super().__init__()
        self.causal = causal
        self.attn = nn.MultiheadAttention(
            embed_dim, num_heads, dropout=dropout, bias=bias, add_bias_kv=add_bias_kv,
            add_zero_attn=add_zero_attn, kdim=kdim, vdim=vdim, batch_first=True,
        )

    def forward(self, query, *rest):
        """query, then optionally key and value (float), then optionally the integer mask."""
        floats = [t for t in rest if t.is_floating_point()]
        masks = [t for t in rest if not t.is_floating_point()]
        key = floats[0] if floats else query
        value = floats[1] if len(floats) > 1 else key
        key_padding_mask = masks[0] if masks else None
        mask = None
        if self.causal:
            t, s = query.shape[1], key.shape[1]
            mask = torch.triu(query.new_ones(t, s, dtype=torch.bool), diagonal=1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask != 0
        out, _ = self.attn(query, key, value, key_padding_mask=key_padding_mask, need_weights=False, attn_mask=mask)
        return out

    def extra_repr(self):
        return f"causal={self.causal}"
