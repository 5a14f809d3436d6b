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


def test_a_files_bytes_read_as_safetensors_reads_them(tmp_path):
    # safetensors' safe_open(framework="pt"): from_file, a byte slice, asarray as uint8, view(dtype=), reshape.
    data = np.arange(6, dtype=np.float32).reshape(2, 3)
    path = tmp_path / "raw.bin"
    path.write_bytes(b"HEADER" + data.tobytes())
    storage = gg.UntypedStorage.from_file(str(path), shared=False, nbytes=6 + data.nbytes)
    assert storage.untyped() is storage and len(storage) == 30 and storage[0] == ord("H")
    piece = storage[6:30]
    t = gg.asarray(piece, dtype=gg.uint8).view(dtype=gg.float32).reshape((2, 3))
    assert t.tolist() == data.tolist() and piece.nbytes() == 24
    t.add_(1.0)  # copy-on-write: the file keeps its bytes
    assert path.read_bytes()[6:] == data.tobytes()
    assert gg.asarray(piece, dtype=gg.float32).tolist() == (data + 1).reshape(-1).tolist()  # a storage read as a dtype


def test_parameters_in_an_optimizers_buffer_keep_storages_of_their_own():
    # PyTorch's parameters never share a storage: safetensors' save_model/load_model (accelerate's
    # save_state) refuse tensors that do, without covering the whole of it.
    model = gg.nn.Sequential(gg.nn.Linear(3, 4), gg.nn.Linear(4, 2))
    opt = gg.optim.Adam(model.parameters())
    model(gg.ones(1, 3)).sum().backward()
    opt.step()
    params = list(model.parameters())
    assert params[0]._array.base is params[1]._array.base  # one flat buffer behind them
    storages = [p.untyped_storage() for p in params]
    assert [s.nbytes() for s in storages] == [p.numel() * 4 for p in params]
    assert len({s.data_ptr() for s in storages}) == len(params)
    assert [p.grad.untyped_storage().nbytes() for p in params] == [p.numel() * 4 for p in params]
    row = params[0][1:]
    assert row.storage_offset() == 3 and row.untyped_storage() == storages[0]


def test_a_new_shared_storage_becomes_a_tensor_in_shared_memory():
    from gpugrad.multiprocessing import shared

    x = gg.ones(2, 3)
    storage = x.untyped_storage()._new_shared(6 * x.element_size(), device=x.device)
    out = x.new(storage).view(-1, 2, 3)
    assert out.shape == (1, 2, 3) and out.dtype is gg.float32 and float(out.sum()) == 0.0
    assert shared.is_shared(out._array) and shared.is_shared(gg.stack([x * 2], 0, out=out)._array)
    assert float(out.sum()) == 12.0 and gg.LongTensor(gg.UntypedStorage._new_shared(16)).shape == (2,)
    with pytest.raises(RuntimeError, match="not a whole number of torch.float32 elements"):
        x.new(gg.UntypedStorage._new_shared(6))


def _collate_in_shared_memory(batch):
    # A worker builds its batch in memory the main process maps, as PyTorch Geometric's collate does.
    first = batch[0]
    storage = first.untyped_storage()._new_shared(len(batch) * first.numel() * first.element_size())
    out = first.new(storage).view(-1, *first.shape)
    return gg.stack(batch, 0, out=out)


def test_a_worker_batch_built_in_shared_memory_reaches_the_loader():
    data = [gg.full((2,), float(i)) for i in range(6)]
    loader = gg.utils.data.DataLoader(data, batch_size=3, num_workers=1, collate_fn=_collate_in_shared_memory)
    assert [b.tolist() for b in loader] == [[[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]], [[3.0, 3.0], [4.0, 4.0], [5.0, 5.0]]]
