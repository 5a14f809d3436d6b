"""NumPy functions given a Tensor first hand back a CPU Tensor, as PyTorch's ``Tensor.__array_wrap__`` makes
them (botorch's pairwise sampler stacks ``np.choose(prefs_tensor, pairs)`` with torch.stack)."""
import numpy as np
import pytest

import gpugrad as gg

CALLS = {
    "choose": lambda lib: np.choose(lib.tensor([[0, 1, 1]]), np.array([[0, 0, 1], [1, 2, 2]])),
    "sin": lambda lib: np.sin(lib.tensor([1.0, 2.0], dtype=lib.float64)),
    "exp of bool": lambda lib: np.exp(lib.tensor([True, False])),
    "greater (a bool result)": lambda lib: np.greater(lib.tensor([1.0, 2.0]), 1.5),
    "sqrt of a 0-d tensor": lambda lib: np.sqrt(lib.tensor(4.0)),
    "clip": lambda lib: np.clip(lib.tensor([1.0, 5.0]), 0, 2),
}


def test_numpy_functions_return_tensors():
    out = np.choose(gg.tensor([[0, 1, 1]]), np.array([[0, 0, 1], [1, 2, 2]]))
    assert isinstance(out, gg.Tensor) and out.tolist() == [[0, 2, 2]]
    assert gg.stack([out, out]).shape == (2, 1, 3)
    mask = np.greater(gg.tensor([1.0, 2.0]), 1.5)
    assert mask.dtype is gg.uint8 and mask.tolist() == [0, 1]  # bool comes back as uint8, as PyTorch's
    assert isinstance(np.asarray(gg.tensor([1.0])), np.ndarray)  # a conversion stays an array


@pytest.mark.torch
@pytest.mark.parametrize("name", list(CALLS))
def test_numpy_functions_return_what_pytorch_returns(name):
    torch = pytest.importorskip("torch")
    ours, theirs = CALLS[name](gg), CALLS[name](torch)
    assert isinstance(ours, gg.Tensor) and isinstance(theirs, torch.Tensor)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_numpy_force_takes_a_tensor_that_requires_grad():
    """botorch's input constructors call Y.numpy(force=True) on model outputs that require grad."""
    x = gg.tensor([1.0, 2.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="requires grad"):
        x.numpy()
    np.testing.assert_array_equal(x.numpy(force=True), [2.0, 4.0])
    plain = gg.tensor([3.0])
    assert np.shares_memory(plain.numpy(force=True), plain.numpy())


@pytest.mark.torch
def test_numpy_force_as_pytorch():
    torch = pytest.importorskip("torch")
    for lib in (torch, gg):
        leaf = lib.tensor([0.5, 1.5], dtype=lib.float64, requires_grad=True)
        np.testing.assert_array_equal((leaf * 3).numpy(force=True), [1.5, 4.5])
