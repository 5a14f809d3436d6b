"""The framework switches PyTorch scripts set: torch.compile, the float32 matmul precision, and
torch.backends' cuda and mps."""
from __future__ import annotations

import warnings

import pytest

import gpugrad as gg
from gpugrad import nn


def test_compile_returns_what_it_is_given_and_checks_its_arguments():
    model = nn.Linear(3, 2)
    assert gg.compile(model) is model and gg.compile(model, mode="max-autotune", fullgraph=True) is model

    @gg.compile(dynamic=True)
    def double(x):
        return 2 * x

    assert double(gg.ones(2)).tolist() == [2.0, 2.0]
    assert gg.compiler.disable(double) is double and not gg.compiler.is_compiling()
    assert gg.compiler.is_dynamo_compiling() is False  # the older spelling tensordict imports
    assert model.compile() is None  # in place, as nn.Module.compile
    with pytest.raises(RuntimeError, match="Unrecognized mode"):
        gg.compile(model, mode="fastest")
    with pytest.raises(RuntimeError, match="Either mode or options"):
        gg.compile(model, mode="default", options={})
    with pytest.raises(TypeError, match="callable"):
        gg.compile(3)


@pytest.mark.torch
def test_the_compiling_questions_answer_as_pytorchs_outside_a_compile():
    torch = pytest.importorskip("torch")
    for name in ("is_compiling", "is_dynamo_compiling"):
        assert getattr(gg.compiler, name)() is getattr(torch.compiler, name)() is False, name


def test_float32_matmul_precision_is_kept_and_read_back_through_allow_tf32():
    before = gg.get_float32_matmul_precision()
    try:
        assert before == "highest" and not gg.backends.cuda.matmul.allow_tf32
        gg.set_float32_matmul_precision("high")
        assert gg.get_float32_matmul_precision() == "high" and gg.backends.cuda.matmul.allow_tf32
        gg.backends.cuda.matmul.allow_tf32 = False
        assert gg.get_float32_matmul_precision() == "highest"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            gg.set_float32_matmul_precision("fast")
        assert "no effect" in str(caught[0].message) and gg.get_float32_matmul_precision() == "highest"
        # GEMMs stay full float32 whatever the setting: the same bits.
        a, b = gg.randn(17, 33), gg.randn(33, 9)
        exact = (a @ b).numpy()
        gg.set_float32_matmul_precision("medium")
        assert ((a @ b).numpy() == exact).all()
    finally:
        gg.set_float32_matmul_precision(before)


def test_backends_say_what_is_there():
    assert not gg.backends.mps.is_available() and not gg.backends.mps.is_built()
    assert isinstance(gg.backends.cuda.is_built(), bool)
    assert not gg.backends.cudnn.is_available()


@pytest.mark.torch
def test_the_names_match_pytorchs():
    torch = pytest.importorskip("torch")
    assert gg.get_float32_matmul_precision() == torch.get_float32_matmul_precision()
    assert gg.compiler.MODES == tuple(
        m.strip() for m in str(_torch_mode_error(torch)).split("one of:")[1].split(","))


def _torch_mode_error(torch):
    try:
        torch.compile(lambda x: x, mode="nonexistent")
    except RuntimeError as exc:
        return exc
    raise AssertionError("torch.compile accepted an unknown mode")


@pytest.mark.torch
def test_list_backends_names_pytorchs_default_backends():
    torch = pytest.importorskip("torch")
    assert gg._dynamo.list_backends() == gg.compiler.list_backends() == torch._dynamo.list_backends()
    everything = gg.compiler.list_backends(exclude_tags=None)
    assert set(everything) <= set(torch.compiler.list_backends(exclude_tags=None))
    assert "eager" in everything and "eager" not in gg.compiler.list_backends()


def test_dynamo_explain_runs_the_function_and_reports_no_graph_breaks():
    calls = []

    def f(x, scale=1.0):
        calls.append(x)
        return x * scale

    report = gg._dynamo.explain(f)(gg.ones(2), scale=2.0)
    assert len(calls) == 1 and report.graph_break_count == 0 and report.break_reasons == []
    assert "Graph Break Count: 0" in str(report)
