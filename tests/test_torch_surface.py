"""Public names added for PyTorch's surface, each beside PyTorch itself: factories' out=, torch.functional,
swap_tensors, once_differentiable, StepLR's float step, matmul's argument names, benchmark.Timer."""
import numpy as np
import pytest

import gpugrad as gg

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def test_factory_out_gives_pytorchs_dtype_shape_and_identity():
    for lib in (gg, torch):
        target = lib.zeros(1, dtype=lib.float64)
        made = lib.full((2, 3), 7, out=target)
        assert made is target and tuple(made.shape) == (2, 3) and str(made.dtype).endswith("float64")
        assert lib.arange(4, out=lib.zeros(0, dtype=lib.int64)).tolist() == [0, 1, 2, 3]


def test_functional_module_names_are_pytorchs():
    import torch.functional as tf

    import gpugrad.functional as gf

    assert set(gf.__all__) == set(tf.__all__)


def test_swap_tensors_as_pytorch():
    for lib in (gg, torch):
        p, t = lib.nn.Parameter(lib.ones(2)), lib.zeros(3)
        lib.utils.swap_tensors(p, t)
        assert type(p).__name__ == "Tensor" and type(t).__name__ == "Parameter"
        assert p.tolist() == [0.0, 0.0, 0.0] and t.tolist() == [1.0, 1.0]


def test_once_differentiable_as_pytorch():
    for lib in (gg, torch):
        from importlib import import_module

        once = import_module(f"{lib.__name__}.autograd.function").once_differentiable

        class Square(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            @once
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return 2 * x * g

        x = lib.tensor([3.0], requires_grad=True)
        (g,) = lib.autograd.grad(Square.apply(x), x, grad_outputs=lib.ones(1, requires_grad=True), create_graph=True)
        assert g.tolist() == [6.0]
        with pytest.raises(RuntimeError, match="once_differentiable"):
            g.sum().backward()


def test_steplr_float_step_and_matmul_names_as_pytorch():
    lrs = []
    for lib in (gg, torch):
        opt = lib.optim.SGD([lib.nn.Parameter(lib.zeros(1))], lr=1.0)
        sched = lib.optim.lr_scheduler.StepLR(opt, 1.0, gamma=0.5)
        for _ in range(3):
            opt.step()
            sched.step()
        lrs.append(opt.param_groups[0]["lr"])
        a, b = lib.ones(2, 3), lib.ones(3, 4)
        assert tuple(lib.matmul(input=a, other=b).shape) == (2, 4)
        assert lib.dot(input=lib.ones(2), tensor=lib.ones(2)).item() == 2.0
    assert lrs[0] == lrs[1] == 0.125


def test_benchmark_timer_measurements_as_pytorchs():
    from torch.utils.benchmark import Timer as TorchTimer

    from gpugrad.utils.benchmark import Timer

    for timer in (Timer, TorchTimer):
        m = timer("x + 1", globals={"x": 1}).timeit(100)
        assert m.number_per_run == 100 and len(m.times) == 1 and m.median > 0
        assert np.isclose(m.mean, m.times[0])


def _tensor_options(lib):
    """nanochat's loader: factories with pin_memory= and layout=, copy_ with non_blocking=."""
    buf = lib.empty(8, dtype=lib.long, pin_memory=False)
    made = [lib.zeros(2, 3, pin_memory=False, layout=lib.strided), lib.ones(2, pin_memory=False),
            lib.full((2,), 3.0, pin_memory=False), lib.arange(4, pin_memory=False), lib.tensor([1, 2], pin_memory=False)]
    buf[:4].copy_(lib.arange(4), non_blocking=False)
    return [buf[:4].tolist()] + [m.tolist() for m in made]


def test_tensor_options_and_non_blocking_as_pytorch():
    assert _tensor_options(gg) == _tensor_options(torch)
    if not gg.cuda.is_available():  # without a GPU both refuse pinned memory
        for lib in (gg, torch):
            with pytest.raises(RuntimeError):
                lib.zeros(2, pin_memory=True)
            with pytest.raises(RuntimeError):
                lib.ones(2).pin_memory()
    with pytest.raises(NotImplementedError, match="zeros: layout=torch.sparse_coo"):
        gg.zeros(2, layout=gg.sparse_coo)


def test_this_sessions_small_semantics_are_pytorchs():
    import warnings

    results = {}
    for lib in (gg, torch):
        x = lib.arange(6.0).reshape(2, 3)
        out = []
        out.append((5.0 in x, 7 in x, lib.tensor(2.0) in x))
        out.append((lib.div(8, 4, rounding_mode="trunc").tolist(), lib.div(7, 2).tolist(), str(lib.add(2, 3).dtype)))
        out.append(tuple(lib.cat((lib.empty(0), x)).shape))
        buf = lib.arange(4.0)
        buf.expand(1, -1).copy_(lib.ones(1, 4))
        out.append(buf.tolist())
        out.append(lib.tensor([1.0]).view(dtype=lib.int32).tolist())
        try:
            lib._check_tensor_all_with(ValueError, lib.tensor([True, False]), lambda: "bad")
        except ValueError as e:
            out.append(str(e))
        out.append(lib.get_device_module("cpu") is lib.cpu)
        values, keys = lib.utils._pytree._dict_flatten({"a": 1, "b": 2})
        out.append((values, keys, lib.utils._pytree._dict_unflatten([3, 4], keys)))
        m = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.BatchNorm1d(2))
        m.half()
        out.append((str(m[0].weight.dtype), str(m[1].num_batches_tracked.dtype)))
        m.type(lib.float64)
        out.append(str(m[1].num_batches_tracked.dtype))
        calls = []

        class Traced(lib.nn.Conv1d):
            def _conv_forward(self, inp, weight, bias):
                calls.append(1)
                return super()._conv_forward(inp, weight, bias)

        Traced(2, 2, 1)(lib.ones(1, 2, 3))
        out.append(len(calls))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lin = lib.nn.Linear(2, 2)
            h, note, nothing = lib.utils.checkpoint.checkpoint(lambda t: (lin(t), "n", None), lib.ones(1, 2),
                                                              use_reentrant=False)
        out.append((tuple(h.shape), note, nothing))

        @lib.no_grad
        def doubled(t):
            return t * 2

        out.append(doubled(lib.ones(1, requires_grad=True)).requires_grad)
        loader = lib.utils.data.DataLoader(list(range(4)), batch_size=2, in_order=True, pin_memory_device="")
        out.append([b.tolist() for b in loader])
        results[lib.__name__] = [str(v).replace("gpugrad.", "").replace("torch.", "") for v in out]
    assert results["gpugrad"] == results["torch"]
