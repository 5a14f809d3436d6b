"""autograd._profiler_enabled / _disable_profiler and profiler.profiler._default_schedule_fn, which
Lightning's PyTorchProfiler reads: whether a profiler records, stopping it, the schedule of none given."""
import pytest

import gpugrad as gg


def test_enabled_while_a_profile_records_and_disable_stops_it():
    assert gg.autograd._profiler_enabled() is False
    with gg.profiler.profile() as prof:
        assert gg.autograd._profiler_enabled() is True
        gg.ones(2) + 1
        assert gg.autograd._disable_profiler() is prof
        assert gg.autograd._profiler_enabled() is False
        gg.ones(2) * 3  # not recorded
    assert [e.name for e in prof.events()] == ["gpugrad::add"]
    with pytest.raises(RuntimeError, match="not running"):
        gg.autograd._disable_profiler()


def test_disabling_the_inner_profile_resumes_the_outer_one():
    with gg.autograd.profiler.profile() as outer, gg.autograd.profiler.profile():
        gg.autograd._disable_profiler()
        gg.ones(2) - 1
    assert [e.name for e in outer.function_events] == ["gpugrad::sub"]


def test_default_schedule_records_every_step():
    fn = gg.profiler.profiler._default_schedule_fn
    assert {fn(i) for i in range(5)} == {gg.profiler.ProfilerAction.RECORD}


@pytest.mark.torch
def test_pytorch_has_the_same_names():
    torch = pytest.importorskip("torch")
    assert torch.autograd._profiler_enabled() is False
    assert torch.profiler.profiler._default_schedule_fn(3) == torch.profiler.ProfilerAction.RECORD
