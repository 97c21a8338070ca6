"""The module behind RNN, LSTM and GRU (see workbench/core/layers/recurrent.py)."""

from __future__ import annotations

from torch import nn


class Recurrent(nn.Module):
    """An nn.RNN / nn.LSTM / nn.GRU (batch first) that returns one tensor.

    output="sequence": every time step of the last layer, [N, T, H * D].
    output="last": the last layer's final hidden state, [N, H * D]; for a bidirectional
    layer the forward and backward final states are concatenated (forward first).
    """

    def __init__(
        self,
        kind,
        input_size,
        hidden_size,
        num_layers=1,
        bias=True,
        bidirectional=False,
        dropout=0.0,
        output="sequence",
        nonlinearity="tanh",
    ):
        super().__init__()
        if kind not in ("RNN", "LSTM", "GRU"):
            raise ValueError(f"kind must be 'RNN', 'LSTM' or 'GRU', got {kind!r}")
        if output not in ("sequence", "last"):
            raise ValueError(f"output must be 'sequence' or 'last', got {output!r}")
        extra = {"nonlinearity": nonlinearity} if kind == "RNN" else {}
        self.kind = kind
        self.output = output
        self.num_directions = 2 if bidirectional else 1
        self.rnn = getattr(nn, kind)(
            input_size,
            hidden_size,
            num_layers,
            bias=bias,
            batch_first=True,
            dropout=dropout,
            bidirectional=bidirectional,
            **extra,
        )

    def forward(self, x):
        out, state = self.rnn(x)
        if self.output == "sequence":
            return out
        h = state[0] if self.kind == "LSTM" else state  # [layers * D, N, H]
        return h[-self.num_directions :].transpose(0, 1).flatten(1)

    def extra_repr(self):
        return f"output={self.output!r}"
