"""What libraries built on PyTorch touch at import (timm's layers and models): torch.dtype, torch.fx.wrap,
torch.jit.annotations, torch.hub, and torch.utils.data's generic classes."""
import hashlib

import numpy as np
import pytest

import gpugrad as gg


def test_dtype_is_the_class_of_the_dtypes():
    assert all(isinstance(d, gg.dtype) for d in (gg.float32, gg.int64, gg.bool, gg.complex64))
    assert not isinstance("float32", gg.dtype)


def test_fx_wrap_returns_what_it_is_given_and_the_rest_of_fx_says_it_is_absent():
    @gg.fx.wrap
    def leaf(x):
        return x + 1

    assert leaf(1) == 2 and gg.fx.wrap("leaf") == "leaf"
    with pytest.raises(AttributeError, match="no FX graph tracer"):
        gg.fx.symbolic_trace


def test_jit_annotations_are_typings():
    from typing import List, Optional

    from gpugrad.jit.annotations import BroadcastingList2
    from gpugrad.jit.annotations import List as JitList
    from gpugrad.jit.annotations import Optional as JitOptional

    assert JitList is List and JitOptional is Optional and BroadcastingList2[int] is None


def test_data_classes_take_type_parameters_where_pytorchs_do():
    from gpugrad.utils.data import (BatchSampler, DataLoader, Dataset, IterableDataset, RandomSampler, Sampler,
                                    Subset, TensorDataset)

    for cls in (Dataset, IterableDataset, Subset, Sampler, DataLoader):
        assert cls[int] is not None

    class Pairs(Dataset[tuple]):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return (i, i)

    assert Pairs()[1] == (1, 1)
    for cls in (TensorDataset, RandomSampler, BatchSampler):
        with pytest.raises(TypeError):
            cls[int]


def test_hub_downloads_once_checks_the_hash_and_loads(tmp_path, monkeypatch):
    weights = tmp_path / "served" / "tiny.safetensors"
    weights.parent.mkdir()
    gg.save({"w": gg.arange(3.0)}, weights)
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    named = weights.with_name(f"tiny-{digest[:8]}.safetensors")
    named.write_bytes(weights.read_bytes())
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "home"))
    assert gg.hub.get_dir() == str(tmp_path / "home" / "hub")
    state = gg.hub.load_state_dict_from_url(named.as_uri(), check_hash=True)
    np.testing.assert_array_equal(state["w"].numpy(), [0.0, 1.0, 2.0])
    cached = tmp_path / "home" / "hub" / "checkpoints" / named.name
    assert cached.exists()
    named.unlink()  # a second call reads the cache, not the network
    assert gg.hub.load_state_dict_from_url(named.as_uri())["w"].tolist() == [0.0, 1.0, 2.0]
    bad = weights.with_name("tiny-deadbeef.safetensors")
    bad.write_bytes(weights.read_bytes())
    with pytest.raises(RuntimeError, match="invalid hash value"):
        gg.hub.load_state_dict_from_url(bad.as_uri(), model_dir=str(tmp_path / "other"), check_hash=True)
    assert not (tmp_path / "other" / bad.name).exists()  # nothing half-written
    gg.hub.set_dir(tmp_path / "mine")
    try:
        assert gg.hub.get_dir() == str(tmp_path / "mine")
    finally:
        gg.hub._hub_dir = None
    with pytest.raises(AttributeError, match="hubconf"):
        gg.hub.load


@pytest.mark.torch
def test_names_match_pytorchs():
    torch = pytest.importorskip("torch")
    assert isinstance(torch.float32, torch.dtype)
    for name in ("load_state_dict_from_url", "download_url_to_file", "get_dir", "set_dir", "HASH_REGEX", "urlparse",
                 "_get_torch_home"):
        assert hasattr(torch.hub, name) and hasattr(gg.hub, name)
    assert gg.hub.HASH_REGEX.pattern == torch.hub.HASH_REGEX.pattern
    import torch.jit.annotations as theirs

    import gpugrad.jit.annotations as ours

    for name in ("List", "Tuple", "Dict", "Optional"):
        assert getattr(ours, name) is getattr(theirs, name)
