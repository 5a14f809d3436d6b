"""One row per exported differentiable op: the function, its input domain, shapes and dtypes.

The rows live in tests/ops/table/, one file per family of gpugrad/ops; this is the one table they form.
Every row is checked by gradcheck and gradgradcheck in float64 (test_op_table.py), in each listed dtype
against the float64 result, and against PyTorch where it is installed (test_against_torch.py).
"""
from .table import (
    activation, aten, bitwise, complex_numbers, cumulative, elementwise, indexing, linalg, pointwise, recurrent, reduce, sampling,
    segment, shape, softmax, sparse, special, spectral,
)
from .table.row import Row  # noqa: F401

ROWS = [
    row
    for family in (
        elementwise, pointwise, bitwise, activation, reduce, cumulative, shape, indexing, linalg, softmax, recurrent, sampling,
        special, sparse, complex_numbers, spectral, segment, aten,
    )
    for row in family.ROWS
]
