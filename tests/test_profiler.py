"""gpugrad.profiler and gpugrad.autograd.profiler: what is recorded, how events nest, the table, the trace
file, schedules, and that nothing is watched once a profile ends."""
import json

import pytest

import gpugrad as gg
from gpugrad.autograd import watch
from gpugrad.profiler import ProfilerAction, profile, record_function, schedule, tensorboard_trace_handler

try:
    import torch
except ImportError:  # pragma: no cover - PyTorch is optional
    torch = None


def _step(x):
    with record_function("forward"):
        loss = (x * 2.0).tanh().sum()
    loss.backward()


def test_ops_backward_nodes_and_ranges_are_recorded_and_nested():
    x = gg.randn(8, 4, requires_grad=True)
    with profile(record_shapes=True) as prof:
        _step(x)
    events = prof.events()
    names = [e.name for e in events]
    assert {"forward", "gpugrad::mul", "gpugrad::sum", "MulBackward", "SumBackward"} <= set(names)
    forward = next(e for e in events if e.name == "forward")
    assert {c.name for c in forward.cpu_children} >= {"gpugrad::mul", "gpugrad::sum"}
    assert forward.self_cpu_time_total == pytest.approx(
        forward.cpu_time_total - sum(c.cpu_time_total for c in forward.cpu_children))
    backward = next(e for e in events if e.name == "MulBackward")
    assert backward.cpu_parent is None and all(c.cpu_parent is backward for c in backward.cpu_children)
    mul = next(e for e in events if e.name == "gpugrad::mul" and e.cpu_parent is forward)
    assert mul.input_shapes == [[8, 4], []]
    assert not watch.state.watched and watch.state.profiler is None  # the short roads are open again


def test_key_averages_table_is_pytorchs():
    x = gg.randn(4, 3, requires_grad=True)
    with profile() as prof:
        for _ in range(3):
            _step(x)
    averages = prof.key_averages()
    forward = next(a for a in averages if a.key == "forward")
    assert forward.count == 3 and forward.cpu_time == pytest.approx(forward.cpu_time_total / 3)
    assert next(a for a in averages if a.key == "gpugrad::mul").count == 6  # 3 forward, 3 in MulBackward
    table = averages.table(sort_by="self_cpu_time_total", row_limit=4)
    lines = table.splitlines()
    assert lines[1].split() == ["Name", "Self", "CPU", "%", "Self", "CPU", "CPU", "total", "%", "CPU", "total", "CPU",
                                "time", "avg", "#", "of", "Calls"]
    assert len(lines) == 3 + 4 + 2 and lines[-1].startswith("Self CPU time total: ")
    assert all(line.endswith("  ") for line in lines[:7])  # PyTorch's columns, each followed by two spaces
    with pytest.raises(ValueError, match="sort_by"):
        averages.table(sort_by="wall_time")
    assert "Input Shapes" in prof.key_averages(group_by_input_shape=True).table()


def test_chrome_trace_and_tensorboard_handler(tmp_path):
    x = gg.randn(4, 3, requires_grad=True)
    with profile(on_trace_ready=tensorboard_trace_handler(str(tmp_path / "tb"), worker_name="w0")) as prof:
        _step(x)
    prof.export_chrome_trace(str(tmp_path / "trace.json"))
    trace = json.loads((tmp_path / "trace.json").read_text())
    assert len(trace["traceEvents"]) == len(prof.events())
    assert {"name", "ph", "ts", "dur", "pid", "tid"} <= set(trace["traceEvents"][0])
    written = list((tmp_path / "tb").glob("w0.*.pt.trace.json"))
    assert len(written) == 1 and json.loads(written[0].read_text())["traceEvents"]


def test_schedule_hands_each_active_stretch_to_on_trace_ready():
    x = gg.randn(4, 3)
    saved = []
    with profile(schedule=schedule(wait=1, warmup=1, active=2, repeat=2),
                 on_trace_ready=lambda p: saved.append((p.step_num, [e.name for e in p.events() if e.name[:4] == "step"]))) as prof:
        for step in range(10):
            with record_function(f"step{step}"):
                (x * 2.0).sum()
            prof.step()
    assert saved == [(4, ["step2", "step3"]), (8, ["step6", "step7"])]


def test_disabled_and_finished_profiles_record_nothing():
    x = gg.randn(3, requires_grad=True)
    with gg.autograd.profiler.profile(enabled=False) as prof:
        (x * 2.0).sum().backward()
    assert len(prof.function_events) == 0
    with gg.autograd.profiler.profile() as prof:
        (x * 2.0).sum()
    count = len(prof.function_events)
    (x * 3.0).sum()
    assert len(prof.function_events) == count > 0


def test_record_function_as_a_decorator_and_outside_a_profile():
    @record_function("helper")
    def helper(t):
        return t + 1.0

    assert helper(gg.ones(2)).tolist() == [2.0, 2.0]  # no profile: nothing to record into
    with profile() as prof:
        helper(gg.ones(2))
    assert [e.name for e in prof.events()][:2] == ["helper", "gpugrad::add"]


def test_what_is_not_recorded_is_said():
    with pytest.warns(UserWarning, match="profile_memory, with_stack not recorded"):
        profile(profile_memory=True, with_stack=True)
    with pytest.raises(NotImplementedError, match="no call stacks"):
        profile().export_stacks("x.txt")


def test_anomaly_mode_still_checks_inside_a_profile():
    y = gg.tensor([1.0, 4.0], requires_grad=True)
    with profile() as prof, gg.autograd.detect_anomaly(), pytest.warns(UserWarning, match="Error detected"):
        with pytest.raises(RuntimeError, match="'SqrtBackward' returned nan"):  # 0 / 0 in sqrt's backward at 0
            ((y - gg.tensor([1.0, 4.0])).sqrt() * 0.0).sum().backward()
    assert "SumBackward" in {e.name for e in prof.events()}


@pytest.mark.torch
@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
@pytest.mark.parametrize("kwargs", [dict(wait=1, warmup=1, active=2), dict(wait=2, warmup=1, active=3, repeat=2),
                                    dict(wait=0, warmup=2, active=1, skip_first=3),
                                    dict(wait=3, warmup=1, active=2, skip_first_wait=1, repeat=3)])
def test_schedule_actions_match_pytorch(kwargs):
    mine, theirs = schedule(**kwargs), torch.profiler.schedule(**kwargs)
    assert [mine(i).name for i in range(30)] == [theirs(i).name for i in range(30)]
    assert ProfilerAction.RECORD_AND_SAVE.name in {mine(i).name for i in range(30)}
