"""gg.futures (torch.futures): Future's completion, callbacks and errors, collect_all and wait_all, and the
same observable behaviour as PyTorch's where it is installed."""
from __future__ import annotations

import threading
import time

import pytest

import gpugrad as gg
from gpugrad.futures import Future, collect_all, wait_all


def test_names_and_generic_alias():
    assert gg.Future is gg.futures.Future is Future
    assert Future[int] is not None  # annotations such as Future[Tensor] are evaluated at import by libraries


def test_set_result_then_wait_value_done():
    f = Future()
    assert not f.done()
    with pytest.raises(RuntimeError, match="not completed"):
        f.value()
    x = gg.tensor([1.0, 2.0])
    f.set_result(x)
    assert f.done() and f.wait() is x and f.value() is x
    with pytest.raises(RuntimeError, match="completed once"):
        f.set_result(x)


def test_then_chains_and_runs_inline_when_done():
    f = Future()
    seen = []
    g = f.then(lambda fut: fut.value() * 2)
    h = g.then(lambda fut: seen.append(fut.value()) or fut.value() + 1)
    assert not g.done() and not h.done()
    f.set_result(5)
    assert g.wait() == 10 and h.wait() == 11 and seen == [10]
    k = f.then(lambda fut: fut.value() - 1)  # already complete: runs at once
    assert k.done() and k.value() == 4


def test_then_callback_error_completes_child_with_runtime_error():
    f = Future()
    f.set_result(1)
    g = f.then(lambda fut: 1 / 0)
    assert g.done()
    with pytest.raises(RuntimeError, match="ZeroDivisionError") as info:
        g.wait()
    assert isinstance(info.value.__cause__, ZeroDivisionError)


def test_set_exception_raises_on_wait_and_through_then():
    f = Future()
    f.set_exception(ValueError("foo"))
    assert f.done()
    with pytest.raises(ValueError, match="foo"):
        f.wait()
    g = f.then(lambda fut: fut.value())
    with pytest.raises(RuntimeError, match="ValueError: foo"):
        g.wait()
    with pytest.raises(AssertionError, match="not an Exception"):
        Future().set_exception("x")


def test_add_done_callback_runs_and_swallows_errors():
    f = Future()
    seen = []
    f.add_done_callback(lambda fut: seen.append(fut.value()))
    f.add_done_callback(lambda fut: 1 / 0)
    with pytest.warns(RuntimeWarning, match="ZeroDivisionError"):
        f.set_result(3)
    f.add_done_callback(lambda fut: seen.append(fut.value() + 1))
    assert seen == [3, 4]


def test_wait_blocks_until_another_thread_sets_the_result():
    f = Future()

    def later():
        time.sleep(0.05)
        f.set_result(gg.ones(2) * 3)

    t = threading.Thread(target=later)
    t.start()
    assert f.wait().tolist() == [3.0, 3.0]
    t.join()


def test_collect_all_and_wait_all():
    a, b = Future(), Future()
    c = collect_all([a, b])
    assert not c.done()
    a.set_result(1)
    assert not c.done()
    b.set_result(2)
    assert c.done() and c.wait() == [a, b]
    assert wait_all([a, b]) == [1, 2]
    assert collect_all([]).wait() == []
    with pytest.raises(TypeError, match="Future"):
        collect_all([1])


def test_collect_all_completes_with_the_first_error():
    a, b, c = Future(), Future(), Future()
    combined = collect_all([a, b, c])
    a.set_result(1)
    b.set_exception(ValueError("bad"))
    assert combined.done()
    with pytest.raises(ValueError, match="bad"):
        combined.wait()
    c.set_result(3)  # a late result changes nothing
    with pytest.raises(ValueError, match="bad"):
        wait_all([a, b, c])


def test_matches_torch_behaviour():
    torch = pytest.importorskip("torch")
    for mod in (torch.futures, gg.futures):
        f = mod.Future()
        g = f.then(lambda fut: fut.value() + 1)
        f.set_result(1)
        assert (g.wait(), mod.wait_all([f, g])) == (2, [1, 2])
        e = mod.Future()
        e.set_exception(ValueError("v"))
        with pytest.raises(ValueError):
            mod.wait_all([f, e])
        with pytest.raises(RuntimeError):
            f.set_result(0)
