"""DataLoader worker processes on tiny data sets (each loader starts processes: keep these few)."""
import os
import time

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.utils.data import DataLoader, Dataset, IterableDataset, TensorDataset, get_worker_info


class SlowFirst(Dataset):
    """Early indices take longest, so results arrive out of order unless the loader reorders them."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        time.sleep(0.02 * (8 - i))
        return i


class WhoAmI(Dataset):
    """Each sample tells which worker made it, with what seed, and one draw from gpugrad's generator."""

    def __len__(self):
        return 4

    def __getitem__(self, i):
        info = get_worker_info()
        return np.array([info.id, info.seed % 2**31, os.getpid(), int(gg.randint(0, 2**30, (1,)).item())])


class FailsAt(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        if i == 3:
            raise KeyError(f"no sample {i}")
        return i


class Hangs(Dataset):
    def __len__(self):
        return 2

    def __getitem__(self, i):
        time.sleep(5)
        return i


class Stream(IterableDataset):
    def __iter__(self):
        info = get_worker_info()
        return iter(range(info.id, 5, info.num_workers))


def test_batches_keep_the_sampler_order():
    loader = DataLoader(SlowFirst(), batch_size=1, num_workers=2, prefetch_factor=4)
    assert [b.item() for b in loader] == list(range(8))


def test_batches_of_tensors_arrive_whole():
    ds = TensorDataset(gg.arange(5), gg.from_numpy(np.arange(10, dtype=np.float32).reshape(5, 2)))
    got = list(DataLoader(ds, batch_size=2, num_workers=2))
    assert [y.tolist() for y, _ in got] == [[0, 1], [2, 3], [4]]
    assert got[2][1].dtype == gg.float32 and got[2][1].tolist() == [[8.0, 9.0]]


def test_worker_error_is_reraised_with_its_worker_and_traceback():
    with pytest.raises(KeyError) as info:
        list(DataLoader(FailsAt(), batch_size=2, num_workers=2))
    msg = str(info.value)
    assert "Caught KeyError in DataLoader worker process 1" in msg  # batch [2, 3] went to worker 1
    assert "Traceback" in msg and "no sample 3" in msg and "__getitem__" in msg


def test_worker_init_fn_error_names_it():
    def init(worker_id):
        raise ValueError(f"bad init {worker_id}")

    with pytest.raises(ValueError, match="in worker_init_fn in DataLoader worker process 0"):
        list(DataLoader(FailsAt(), num_workers=1, worker_init_fn=init))


def test_seeds_are_base_seed_plus_worker_id_and_follow_the_generator():
    def run(seed):
        rows = np.concatenate([b.numpy() for b in DataLoader(WhoAmI(), batch_size=1, num_workers=2,
                                                            generator=gg.Generator(seed=seed))])
        return rows

    a, b, c = run(0), run(0), run(1)
    ids, seeds, pids, draws = a.T
    assert ids.tolist() == [0, 1, 0, 1]
    assert seeds[1] - seeds[0] == 1 and seeds[2] == seeds[0]
    assert pids[0] != pids[1] and pids[0] != os.getpid()
    assert draws[0] != draws[1]  # the workers' generators differ
    np.testing.assert_array_equal(np.delete(a, 2, axis=1), np.delete(b, 2, axis=1))  # same seed, same draws
    assert not np.array_equal(a[:, 3], c[:, 3])


def test_timeout_raises():
    with pytest.raises(RuntimeError, match=r"DataLoader timed out after 0.2 seconds"):
        list(DataLoader(Hangs(), num_workers=1, timeout=0.2))


def test_persistent_workers_serve_every_epoch_and_restart_streams():
    loader = DataLoader(WhoAmI(), batch_size=2, num_workers=2, persistent_workers=True)
    pids = [set(int(p) for b in loader for p in b.numpy()[:, 2]) for _ in range(2)]
    assert pids[0] == pids[1] and len(pids[0]) == 2
    stream = DataLoader(Stream(), batch_size=2, num_workers=2, persistent_workers=True)
    assert [[b.tolist() for b in stream] for _ in range(2)] == [[[0, 2], [1, 3], [4]]] * 2
    loader._shutdown_workers()
    stream._shutdown_workers()


def test_workers_seen_through_worker_init_fn():
    seen = DataLoader(WhoAmI(), num_workers=2, worker_init_fn=lambda i: gg.manual_seed(100 + i))
    draws = [int(b.numpy()[0, 3]) for b in seen]
    gg.manual_seed(100)
    first = int(gg.randint(0, 2**30, (1,)).item())
    assert draws[0] == first  # worker 0's generator was reseeded by worker_init_fn


def test_no_worker_info_in_the_main_process():
    assert get_worker_info() is None


def test_spawned_workers_receive_a_tensor_dataset():
    ds = TensorDataset(gg.arange(4))
    got = list(DataLoader(ds, batch_size=3, num_workers=1, multiprocessing_context="spawn"))
    assert [y.tolist() for y, in got] == [[0, 1, 2], [3]]


def test_resume_mid_epoch_with_workers_continues_the_same_order():
    ds = TensorDataset(gg.arange(11))

    def make():
        return DataLoader(ds, batch_size=2, shuffle=True, generator=gg.Generator(seed=3), num_workers=2)

    reference = make()
    list(reference)
    epoch1 = [y.tolist() for y, in reference]
    loader = make()
    list(loader)
    it = iter(loader)
    seen = [next(it)[0].tolist() for _ in range(2)]
    state, gen_state = loader.state_dict(), loader.generator.get_state()
    del it
    resumed = make()
    resumed.generator.set_state(gen_state)
    resumed.load_state_dict(state)
    assert seen + [y.tolist() for y, in resumed] == epoch1


def test_two_live_iterators_have_their_own_workers():
    loader = DataLoader(TensorDataset(gg.arange(6)), batch_size=2, num_workers=1)
    a, b = iter(loader), iter(loader)
    assert next(a)[0].tolist() == [0, 1] and next(b)[0].tolist() == [0, 1]
    assert [y.tolist() for y, in a] == [[2, 3], [4, 5]] and [y.tolist() for y, in b] == [[2, 3], [4, 5]]


def test_a_seed_gives_the_same_batches_and_draws_whatever_num_workers():
    # PyTorch draws the workers' base seed in a single process too, so manual_seed fixes the same
    # order (and the draws after it) with or without workers.
    seen = []
    for workers in (0, 1):
        gg.manual_seed(0)
        batch = next(iter(DataLoader(list(range(100)), batch_size=4, shuffle=True, num_workers=workers)))
        seen.append((batch.tolist(), gg.rand(1).item()))
    assert seen[0] == seen[1]


def _order_after_reseeding_between_iter_and_next(lib, num_workers):
    """Shuffled batches when the default generator is reseeded after iter() and before the first next():
    with workers the order is drawn when the iterator is made (its first tasks go out then), without them
    at the first batch. Checkpointing engines restore the random state right after iter() (ignite's)."""
    lib.manual_seed(0)
    loader = lib.utils.data.DataLoader(lib.utils.data.TensorDataset(lib.arange(12)), batch_size=3, shuffle=True,
                                       num_workers=num_workers)
    it = iter(loader)
    lib.manual_seed(1)
    return [b[0].tolist() for b in it]


def _order_without_reseeding(lib, num_workers):
    lib.manual_seed(0)
    loader = lib.utils.data.DataLoader(lib.utils.data.TensorDataset(lib.arange(12)), batch_size=3, shuffle=True,
                                       num_workers=num_workers)
    return [b[0].tolist() for b in loader]


def test_workers_draw_the_order_when_the_iterator_is_made():
    assert _order_after_reseeding_between_iter_and_next(gg, 2) == _order_without_reseeding(gg, 2)
    assert _order_after_reseeding_between_iter_and_next(gg, 0) != _order_without_reseeding(gg, 0)


def test_an_iterator_dropped_before_its_first_batch_stops_its_workers():
    loader = DataLoader(TensorDataset(gg.arange(12)), batch_size=3, num_workers=2)
    it = iter(loader)
    workers = list(it._batches.gi_frame.f_locals["pool"].workers)
    assert all(w.is_alive() for w in workers)
    del it
    assert not any(w.is_alive() for w in workers)


@pytest.mark.torch
@pytest.mark.parametrize("num_workers", [0, 2])
def test_pytorch_draws_the_order_at_the_same_moment(num_workers):
    torch = pytest.importorskip("torch")
    assert (_order_after_reseeding_between_iter_and_next(torch, num_workers)
            == _order_after_reseeding_between_iter_and_next(gg, num_workers))
