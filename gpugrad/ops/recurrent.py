"""Recurrent cells: ``lstm_cell``, ``gru_cell``, ``rnn_tanh_cell``, ``rnn_relu_cell`` (PyTorch's
``torch.lstm_cell`` ...), on the fused gate kernels of kernels/recurrent.py."""
from __future__ import annotations

# What this family exports; gpugrad.ops gathers it.
FUNCTIONS = ()
DIFFERENTIABLE = ()
METHODS = {}
