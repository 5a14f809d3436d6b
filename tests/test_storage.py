"""Tensor.untyped_storage() / storage(): the memory block behind a tensor, as code that checks sharing asks."""
import warnings

import numpy as np
import pytest

import gpugrad as gg


def test_views_share_their_owners_storage():
    x = gg.arange(10.0)
    view = x[2:].view(2, 4)
    s, sv = x.untyped_storage(), view.untyped_storage()
    assert sv.data_ptr() == s.data_ptr() and sv == s and sv.nbytes() == 40 and len(sv) == 40
    assert view.data_ptr() - x.data_ptr() == 8 and view.storage_offset() == 2
    assert x.clone().untyped_storage() != s and x.untyped_storage().device == "cpu"
    with pytest.warns(UserWarning, match="deprecated"):
        typed = view.storage()
    assert typed.size() == 10 and typed.dtype == gg.float32 and typed.element_size() == 4
    assert isinstance(typed, gg.TypedStorage) and not isinstance(typed, gg.UntypedStorage)
    assert typed.untyped() == s


@pytest.mark.torch
def test_storages_agree_with_pytorch():
    torch = pytest.importorskip("torch")
    data = np.arange(12, dtype=np.float64)
    for lib in (gg, torch):
        x = lib.tensor(data).reshape(3, 4)
        t = x.t()
        s = t.untyped_storage()
        assert (s.nbytes(), s.size(), s.element_size()) == (96, 96, 1)
        assert s.data_ptr() == x.untyped_storage().data_ptr() and t[1:].storage_offset() == 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert (x.storage().size(), x.storage().element_size()) == (12, 8)
