"""gpugrad's own NumPy calls give inf and NaN without a RuntimeWarning, as PyTorch; the user's still warn."""
from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.numpy_warnings import silence_numpy_warnings


def _t(values, **kw):
    return gg.tensor(np.array(values, dtype=np.float32), **kw)


EDGES = {
    "div by 0": lambda: _t([1.0, 0.0]) / _t([0.0, 0.0]),
    "log 0": lambda: _t([0.0, -1.0]).log(),
    "sqrt -1": lambda: _t([-1.0]).sqrt(),
    "exp overflow": lambda: _t([1000.0]).exp(),
    "0 ** -1": lambda: _t([0.0]) ** -1.0,
    "square overflow": lambda: _t([1e38]) ** 2,
    "inf - inf": lambda: _t([np.inf]) - _t([np.inf]),
    "logit 0, 1": lambda: _t([0.0, 1.0]).logit(),
    "remainder by 0": lambda: _t([1.0]).remainder(0.0),
    "sum overflow": lambda: _t([3e38, 3e38]).sum(),
    "prod overflow": lambda: _t([[3e38, 3e38]]).prod(1),
    "var of one": lambda: _t([1.0]).var(),
    "mean of inf and -inf": lambda: _t([np.inf, -np.inf]).mean(),
    "logsumexp of -inf": lambda: _t([-np.inf, -np.inf]).logsumexp(0),
    "sqrt backward at 0": lambda: _t([0.0], requires_grad=True).sqrt().sum().backward(),
    "log backward at 0": lambda: _t([0.0], requires_grad=True).log().sum().backward(),
    "div backward by 0": lambda: (_t([1.0], requires_grad=True) / _t([0.0])).sum().backward(),
    "log 0 in bfloat16": lambda: gg.tensor([0.0, 1.0], dtype=gg.bfloat16).log().float(),  # computed in float32
}


@pytest.mark.parametrize("case", list(EDGES))
def test_inf_and_nan_come_without_a_warning(case):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # every warning recorded, once gpugrad's filter is back in front
        silence_numpy_warnings()
        EDGES[case]()
    assert [str(w.message) for w in caught] == []


def test_only_numpys_floating_point_messages_from_gpugrad_are_silenced():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        silence_numpy_warnings()
        np.log(np.zeros(1))  # the user's own NumPy call: still NumPy's warning
        warnings.warn_explicit("a note of gpugrad's own", RuntimeWarning, "ops.py", 1, module="gpugrad.ops")
        warnings.warn_explicit("divide by zero encountered in log", RuntimeWarning, "x.py", 1, module="gpugradx")
    assert [str(w.message) for w in caught] == [
        "divide by zero encountered in log", "a note of gpugrad's own", "divide by zero encountered in log"]


def test_import_silences_them_even_under_python_W_error():
    code = (
        "import numpy as np, gpugrad as gg\n"
        "x = gg.tensor([0.0, 1.0])\n"
        "assert (1 / x)[0].item() == float('inf') and x.log()[0].item() == float('-inf')\n"
        "try:\n"
        "    np.log(np.zeros(1))\n"
        "except RuntimeWarning:\n"
        "    print('user warns')\n"
    )
    out = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "user warns"


def _value(result):
    return None if result is None else result.detach().numpy()


@pytest.mark.parametrize("strict", ["warnings as errors", "np.seterr raise"])
@pytest.mark.parametrize("case", list(EDGES))
def test_inf_and_nan_come_without_an_error_where_warnings_are_errors(case, strict):
    # pytest -W error, or a library's filterwarnings = error: the filters pytest installs per test stand in
    # front of gpugrad's; np.seterr(all="raise") in the user's code makes NumPy raise instead of warn.
    # PyTorch raises neither: the op is computed again with NumPy's errors ignored (Function.apply).
    with warnings.catch_warnings():
        silence_numpy_warnings()
        want = _value(EDGES[case]())
    with warnings.catch_warnings(), np.errstate(all="raise" if strict == "np.seterr raise" else "warn"):
        warnings.simplefilter("error")
        got = _value(EDGES[case]())
        with pytest.raises(RuntimeWarning if strict == "warnings as errors" else FloatingPointError):
            np.log(np.zeros(1))  # the user's own NumPy call still reports, as they asked
    if want is None:
        assert got is None
    else:
        np.testing.assert_array_equal(got, want)


def test_a_users_function_keeps_its_own_numpy_errors_and_its_gpugrad_ops_compute_quietly():
    class OwnNumpy(gg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return gg.tensor(np.log(x.detach().numpy()))  # the user's own NumPy call

        @staticmethod
        def backward(ctx, g):
            return g

    class GpugradOps(gg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.log()

        @staticmethod
        def backward(ctx, g):
            return g

    x = _t([0.0, 1.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(RuntimeWarning, match="divide by zero"):
            OwnNumpy.apply(x)
        assert GpugradOps.apply(x).tolist() == [float("-inf"), 0.0]
