"""gpugrad.utils.benchmark: Timer's measurements and their statistics, and Compare's table."""
import pytest

import gpugrad as gg
from gpugrad.utils.benchmark import Compare, Measurement, Timer


def test_timeit_and_blocked_autorange_measure_the_statement():
    calls = []
    timer = Timer("f()", globals={"f": lambda: calls.append(1)}, label="calls", sub_label="one", description="list")
    m = timer.timeit(50)
    assert isinstance(m, Measurement) and m.number_per_run == 50 and len(m.times) == 1
    assert len(calls) == 51  # one warm-up run, then the 50 timed
    auto = timer.blocked_autorange(min_run_time=0.05)
    assert len(auto.times) >= 1 and sum(auto.raw_times) >= 0.05
    assert auto.median > 0 and auto.iqr >= 0 and auto.mean > 0
    text = repr(auto)
    assert "calls: one\nlist" in text
    # One block of runs can fill min_run_time on a slow machine: PyTorch prints that without quartiles.
    if len(auto.times) > 1:
        assert "Median:" in text and f"{len(auto.times)} measurements" in text and "runs per measurement, 1 thread" in text
    else:
        assert "Median:" not in text and f"1 measurement, {auto.number_per_run} runs , 1 thread" in text


def test_setup_globals_and_compare_table():
    x = gg.randn(100)
    fast = Timer("x * 2", globals={"x": x}, label="scale", sub_label="100", description="mul").blocked_autorange(min_run_time=0.02)
    slow = Timer("y = x.exp().sum()", setup="import math", globals={"x": x}, label="scale", sub_label="100",
                 description="exp-sum").blocked_autorange(min_run_time=0.02)
    table = str(Compare([fast, slow]))
    assert table.startswith("[") and " scale " in table.splitlines()[0]
    assert "mul" in table and "exp-sum" in table and "1 threads:" in table and "Times are in" in table


def test_only_python_statements():
    with pytest.raises(ValueError, match="only Python"):
        Timer("x", language="cpp")
