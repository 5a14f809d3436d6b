"""NumPy's keyword names, which PyTorch accepts too: ``axis`` for ``dim``, ``keepdims`` for ``keepdim``."""
import numpy as np
import pytest

import gpugrad as gg

# (name, the call with NumPy's keywords, the same call with PyTorch's own)
CALLS = [
    ("sum", lambda lib, x: lib.sum(x, axis=1, keepdims=True), lambda lib, x: lib.sum(x, dim=1, keepdim=True)),
    ("mean", lambda lib, x: x.mean(axis=0), lambda lib, x: x.mean(dim=0)),
    ("std", lambda lib, x: lib.std(x, axis=1), lambda lib, x: lib.std(x, dim=1)),
    ("amax", lambda lib, x: x.amax(axis=-1, keepdims=True), lambda lib, x: x.amax(dim=-1, keepdim=True)),
    ("max", lambda lib, x: x.max(axis=1).values, lambda lib, x: x.max(dim=1).values),
    ("logsumexp", lambda lib, x: lib.logsumexp(x, axis=0), lambda lib, x: lib.logsumexp(x, dim=0)),
    ("cumsum", lambda lib, x: x.cumsum(axis=1), lambda lib, x: x.cumsum(dim=1)),
    ("softmax", lambda lib, x: lib.softmax(x, axis=0), lambda lib, x: lib.softmax(x, dim=0)),
    ("cat", lambda lib, x: lib.cat([x, x], axis=1), lambda lib, x: lib.cat([x, x], dim=1)),
    ("squeeze", lambda lib, x: x[:1].squeeze(axis=0), lambda lib, x: x[:1].squeeze(dim=0)),
]
X = np.arange(12.0).reshape(3, 4) / 7


@pytest.mark.parametrize("numpy_call, torch_call", [c[1:] for c in CALLS], ids=[c[0] for c in CALLS])
def test_axis_and_keepdims_mean_dim_and_keepdim(numpy_call, torch_call):
    np.testing.assert_array_equal(numpy_call(gg, gg.tensor(X)).numpy(), torch_call(gg, gg.tensor(X)).numpy())


@pytest.mark.torch
@pytest.mark.parametrize("numpy_call", [c[1] for c in CALLS], ids=[c[0] for c in CALLS])
def test_axis_keywords_match_pytorch(numpy_call):
    torch = pytest.importorskip("torch")
    np.testing.assert_allclose(numpy_call(gg, gg.tensor(X)).numpy(), numpy_call(torch, torch.tensor(X)).numpy(), rtol=1e-12)


def test_both_a_name_and_its_alias_is_an_error():
    with pytest.raises(TypeError, match="sum: got both 'dim' and its alias 'axis'"):
        gg.ones(2, 3).sum(dim=0, axis=1)


# PyTorch's own keyword names for sizes (MAE's ``imgs.reshape(shape=(...))``), beside the positional forms.
SIZE_KEYWORDS = [
    ("reshape", lambda lib, x: x.reshape(shape=(3, 4)), lambda lib, x: x.reshape(3, 4)),
    ("torch.reshape", lambda lib, x: lib.reshape(x, shape=(3, 4)), lambda lib, x: lib.reshape(x, (3, 4))),
    ("view", lambda lib, x: x.view(size=(4, 3)), lambda lib, x: x.view(4, 3)),
    ("expand", lambda lib, x: x[:1].expand(size=(2, 3, 4)), lambda lib, x: x[:1].expand(2, 3, 4)),
    ("repeat", lambda lib, x: x.repeat(repeats=(2, 1)), lambda lib, x: x.repeat(2, 1)),
    ("new_zeros", lambda lib, x: x.new_zeros(size=(2,)), lambda lib, x: x.new_zeros(2)),
    ("split", lambda lib, x: x.split(split_size=2, dim=1)[1], lambda lib, x: x.split(2, 1)[1]),
]


@pytest.mark.parametrize("keyword_call, positional_call", [c[1:] for c in SIZE_KEYWORDS], ids=[c[0] for c in SIZE_KEYWORDS])
def test_size_keywords_as_pytorchs(keyword_call, positional_call):
    x = gg.tensor(X)
    np.testing.assert_array_equal(keyword_call(gg, x).numpy(), positional_call(gg, x).numpy())


def test_sizes_given_twice_are_refused():
    with pytest.raises(TypeError, match=r"reshape\(\): got the sizes both"):
        gg.tensor(X).reshape(4, 3, shape=(3, 4))


@pytest.mark.torch
@pytest.mark.parametrize("keyword_call", [c[1] for c in SIZE_KEYWORDS], ids=[c[0] for c in SIZE_KEYWORDS])
def test_size_keywords_match_pytorch(keyword_call):
    torch = pytest.importorskip("torch")
    np.testing.assert_array_equal(keyword_call(gg, gg.tensor(X)).numpy(), keyword_call(torch, torch.tensor(X)).numpy())
