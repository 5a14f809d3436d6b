"""gg.tensor of lists holding Tensors or NumPy values infers PyTorch's dtype: each element's own dtype (a
Python float counting as the default dtype) promoted with the others'."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg

CASES = {
    "float beside a float64 tensor": lambda lib: [0.0, lib.tensor(2.0, dtype=lib.float64)],
    "float beside a float16 tensor": lambda lib: [0.0, lib.tensor(2.0, dtype=lib.float16)],
    "int beside a float64 tensor": lambda lib: [1, lib.tensor(2.0, dtype=lib.float64)],
    "int64 tensors": lambda lib: [lib.tensor(1), lib.tensor(2)],
    "float beside an int32 tensor": lambda lib: [1.0, lib.tensor(2, dtype=lib.int32)],
    "nested float64 tensor": lambda lib: [[1.0], [lib.tensor(2.0, dtype=lib.float64)]],
    "float16 tensors alone": lambda lib: [lib.tensor(1.0, dtype=lib.float16), lib.tensor(2.0, dtype=lib.float16)],
    "bool beside a uint8 tensor": lambda lib: [True, lib.tensor(2, dtype=lib.uint8)],
    "int8 tensor beside a float": lambda lib: [lib.tensor(1, dtype=lib.int8), 1.5],
    "numpy float64 scalar": lambda lib: [np.float64(1.0), 2.0],
    "numpy float32 scalar beside an int": lambda lib: [np.float32(1.0), 2],
    "numpy int32 scalar beside an int": lambda lib: [np.int32(1), 2],
    "python numbers only": lambda lib: [[1.0, 2], [3, 4]],
    "tuple of 1-d tensors": lambda lib: ([lib.tensor([1.0, 2.0], dtype=lib.float64)], [[3.0, 4.0]]),
    "one-element tensors": lambda lib: [lib.ones(1, dtype=lib.float64), lib.ones(1, 1, dtype=lib.float64)],
    "one-element tensor beside a float": lambda lib: [[2.0], [lib.tensor([3], dtype=lib.int32)]],
}


@pytest.mark.torch
@pytest.mark.parametrize("case", list(CASES))
def test_list_dtype_inference_matches_pytorch(case):
    torch = pytest.importorskip("torch")
    try:
        expected = torch.tensor(CASES[case](torch))
    except (TypeError, ValueError, RuntimeError):
        pytest.skip("PyTorch refuses this list")
    ours = gg.tensor(CASES[case](gg))
    assert str(ours.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1]
    assert tuple(ours.shape) == tuple(expected.shape)
    np.testing.assert_array_equal(ours.float().numpy(), expected.float().numpy())


def test_an_explicit_dtype_still_wins():
    assert gg.tensor([0.5, gg.tensor(2.0, dtype=gg.float64)], dtype=gg.float16).dtype is gg.float16


def test_a_tensor_in_a_list_is_one_number():
    """PyTorch reads each Tensor in a list as a number (botorch builds torch.tensor([y[mask].mean(dim=0) ...]) of
    1-element means and indexes it as 1-d); one of more elements is refused, as there."""
    made = gg.tensor([gg.ones(1) * 2, [gg.ones(1, 1)][0] * 3])
    assert tuple(made.shape) == (2,) and made.tolist() == [2.0, 3.0]
    for bad in ([gg.ones(2), gg.ones(2)], [[gg.zeros(0)]], (1.0, gg.ones(3))):
        with pytest.raises(ValueError, match="only one element tensors can be converted to Python scalars"):
            gg.tensor(bad)
    with pytest.raises(ValueError, match="only one element tensors"):
        gg.as_tensor([gg.ones(2)])
