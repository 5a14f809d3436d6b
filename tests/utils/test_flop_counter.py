"""gg.utils.flop_counter.FlopCounterMode (torch.utils.flop_counter): FLOPs of matrix products,
convolutions and attention, forward and backward, per module, against counts worked by hand, and against
PyTorch's counts where it is installed."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad import nn
from gpugrad.utils.flop_counter import FlopCounterMode, register_flop_formula


def _counts(fn, *args):
    with FlopCounterMode(display=False) as counter:
        fn(*args)
    return counter.get_flop_counts(), counter.get_total_flops()


def test_matrix_products_by_hand():
    a, b = gg.randn(3, 4, requires_grad=True), gg.randn(4, 5, requires_grad=True)
    counts, total = _counts(lambda: (a @ b).sum().backward())
    assert counts == {"Global": {"aten.mm": 3 * 2 * 3 * 4 * 5}} and total == 360  # forward and two gradients
    counts, _ = _counts(lambda: gg.bmm(gg.randn(2, 3, 4), gg.randn(2, 4, 5)))
    assert counts == {"Global": {"aten.bmm": 2 * 2 * 3 * 4 * 5}}
    counts, _ = _counts(lambda: gg.randn(6, 3, 4) @ gg.randn(4, 5))  # folded into one (18, 4) @ (4, 5)
    assert counts == {"Global": {"aten.mm": 2 * 18 * 4 * 5}}
    assert _counts(lambda: gg.randn(3, 4) @ gg.randn(4))[1] == 0  # matrix-vector products count nothing


def test_linear_and_modules_by_hand():
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    x = gg.randn(5, 8)
    with FlopCounterMode(display=False) as counter:
        model(x).sum().backward()
    first, second = 2 * 5 * 8 * 16, 2 * 5 * 16 * 4
    counts = counter.get_flop_counts()
    # The first layer's input needs no gradient: only its weight's (one mm); the second's needs both.
    assert counts["Sequential.0"] == {"aten.addmm": first, "aten.mm": first}
    assert counts["Sequential.2"] == {"aten.addmm": second, "aten.mm": 2 * second}
    assert counts["Global"] == counts["Sequential"] == {"aten.addmm": first + second, "aten.mm": first + 2 * second}
    assert counter.get_total_flops() == 2 * first + 3 * second
    assert not nn.module._global_forward_pre_hooks and not nn.module._global_forward_hooks
    assert gg.autograd.watch.state.profiler is None


def test_convolution_and_attention_by_hand():
    conv = nn.Conv2d(3, 4, 3, padding=1)
    x = gg.randn(2, 3, 6, 6, requires_grad=True)
    counts, _ = _counts(lambda: conv(x).sum().backward())
    forward = 2 * 2 * 4 * 36 * 3 * 9
    assert counts["Global"] == {"aten.convolution": forward, "aten.convolution_backward": 2 * forward}
    q = gg.randn(2, 3, 5, 8, requires_grad=True)
    k = gg.randn(2, 3, 7, 8, requires_grad=True)
    v = gg.randn(2, 3, 7, 4, requires_grad=True)
    counts, _ = _counts(lambda: F.scaled_dot_product_attention(q, k, v).sum().backward())
    forward = 2 * 6 * 5 * 7 * 8 + 2 * 6 * 5 * 7 * 4
    assert counts["Global"] == {"aten.bmm": 3 * forward}  # forward, then two gradients of each product


def test_table_custom_formulas_and_registration(capsys):
    model = nn.Sequential(nn.Linear(4, 4))
    with FlopCounterMode(depth=1) as counter:
        model(gg.randn(2, 4))
    table = capsys.readouterr().out
    assert table.splitlines()[0].split() == ["Module", "FLOP", "%", "Total"]
    assert "Sequential" in table and " - aten.addmm" in table and "100.00%" in table and "Sequential.0" not in table
    assert counter.get_table(depth=2).count("Sequential.0") == 1
    with FlopCounterMode(display=False, custom_mapping={"aten.addmm": lambda *shapes, out_shape=None: 7}) as custom:
        model(gg.randn(2, 4))
    assert custom.get_total_flops() == 7
    with pytest.raises(RuntimeError, match="duplicate registrations"):
        register_flop_formula("aten.mm")(lambda *a, **k: 0)
    with pytest.warns(UserWarning, match="mods argument"):
        FlopCounterMode(model, display=False)
    assert FlopCounterMode(display=False).get_table().split()[-3:] == ["Global", "0.000", "0%"]


def test_a_profiler_around_the_counter_still_records():
    model = nn.Linear(3, 2)
    with (gg.profiler.profile() as prof, FlopCounterMode(display=False) as counter,
          gg.profiler.record_function("step")):
        model(gg.randn(4, 3)).sum().backward()
    names = {e.name for e in prof.events()}
    assert {"step", "gpugrad::linear", "LinearActBackward"} <= names
    assert counter.get_total_flops() == 2 * (2 * 4 * 3 * 2)
    assert gg.autograd.watch.state.profiler is None and not gg.autograd.watch.state.watched


def _pytorch_cases(lib, counter_cls):
    """(label, counts) for the same computations, in gpugrad or in PyTorch."""
    nn_, F_ = lib.nn, lib.nn.functional
    out = []

    def run(label, fn):
        with counter_cls(display=False) as counter:
            fn()
        out.append((label, {m: {str(op): n for op, n in ops.items()} for m, ops in counter.get_flop_counts().items()}))

    lib.manual_seed(0)
    mlp = nn_.Sequential(nn_.Linear(8, 16), nn_.ReLU(), nn_.Linear(16, 4))
    run("mlp", lambda: mlp(lib.randn(5, 8)).sum().backward())
    for sa, sb in [((3, 4), (4,)), ((4,), (4, 5)), ((2, 3, 4), (4, 5)), ((4,), (2, 4, 5)), ((3, 4), (2, 4, 5)),
                   ((2, 1, 3, 4), (5, 4, 2)), ((4,), (4,)), ((3, 4), (4, 5))]:
        for grad in (False, True):
            a, b = lib.randn(*sa, requires_grad=grad), lib.randn(*sb, requires_grad=grad)
            run(f"matmul {sa} {sb} {grad}",
                lambda a=a, b=b, grad=grad: lib.matmul(a, b).sum().backward() if grad else lib.matmul(a, b))
    q, k, v = (lib.randn(*s, requires_grad=True) for s in ((2, 3, 8, 16), (2, 3, 10, 16), (2, 3, 10, 4)))
    run("sdpa", lambda: F_.scaled_dot_product_attention(q, k, v).sum().backward())
    for d in (1, 2, 3):
        conv = getattr(nn_, f"Conv{d}d")(4, 6, 3, padding=1, stride=2 if d == 2 else 1)
        x = lib.randn(*((2, 4) + (5,) * d), requires_grad=True)
        run(f"conv{d}d", lambda conv=conv, x=x: conv(x).sum().backward())
    lin = nn_.Linear(16, 5)
    for shape in ((4, 16), (4, 7, 16), (4, 7, 3, 16)):
        x = lib.randn(*shape, requires_grad=True)
        run(f"linear {shape}", lambda x=x: lin(x).sum().backward())
    for eq, sa, sb in (("ij,jk->ik", (3, 4), (4, 5)), ("ij,ij->ij", (3, 4), (3, 4)), ("ijk,kl->il", (2, 3, 4), (4, 5))):
        run(f"einsum {eq}", lambda eq=eq, sa=sa, sb=sb: lib.einsum(eq, lib.randn(*sa), lib.randn(*sb)))
    return out


@pytest.mark.torch
def test_counts_match_pytorchs():
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode as Theirs

    ours, theirs = _pytorch_cases(gg, FlopCounterMode), _pytorch_cases(torch, Theirs)
    for (label, mine), (_, want) in zip(ours, theirs):
        assert mine == want, label


@pytest.mark.torch
def test_totals_match_pytorchs_where_gpugrad_runs_other_ops():
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode as Theirs

    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 5, 5)).astype(np.float32)
    totals = []
    for lib, counter_cls in ((gg, FlopCounterMode), (torch, Theirs)):
        lib.manual_seed(0)
        layer = lib.nn.ConvTranspose2d(4, 6, 3, stride=2)
        with counter_cls(display=False) as counter:
            layer(lib.tensor(x, requires_grad=True)).sum().backward()
        totals.append(counter.get_total_flops())
    assert totals[0] == totals[1]  # counted as matrix products here, as convolutions there
