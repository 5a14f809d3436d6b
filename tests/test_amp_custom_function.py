"""amp.custom_fwd / custom_bwd on a custom Function: the forward's autocast state reaches the backward,
and cast_inputs casts floating-point arguments inside an autocast region, as PyTorch's decorators do."""
from __future__ import annotations

import pytest

import gpugrad as gg


def _scaled_square(lib, cast_inputs):
    """A Function whose forward and backward record what they saw (dtypes, autocast state)."""
    seen = {}

    class ScaledSquare(lib.autograd.Function):
        @staticmethod
        @lib.amp.custom_fwd(device_type="cpu", cast_inputs=cast_inputs)
        def forward(ctx, x, scale=2.0):
            seen["forward"] = (x.dtype, lib.is_autocast_enabled("cpu"))
            ctx.save_for_backward(x)
            return x * x * scale

        @staticmethod
        @lib.amp.custom_bwd(device_type="cpu")
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            seen["backward"] = lib.is_autocast_enabled("cpu")
            return grad * 4.0 * x, None

    return ScaledSquare, seen


@pytest.mark.torch
@pytest.mark.parametrize("cast_inputs", [None, "float64"])
@pytest.mark.parametrize("region", [False, True])
def test_custom_fwd_and_bwd_carry_the_autocast_state_as_pytorchs(cast_inputs, region):
    torch = pytest.importorskip("torch")
    reports = []
    for lib in (gg, torch):
        fn, seen = _scaled_square(lib, None if cast_inputs is None else getattr(lib, cast_inputs))
        x = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
        with lib.autocast("cpu", enabled=region):
            y = fn.apply(x)
        y.sum().backward()
        reports.append((str(seen["forward"][0]).split(".")[-1], seen["forward"][1], seen["backward"],
                        str(y.dtype).split(".")[-1], x.grad.tolist()))
    assert reports[0] == reports[1]


def test_the_decorators_check_device_type_and_take_keywords_alone():
    with pytest.raises(ValueError, match="device_type"):
        gg.amp.custom_fwd(lambda ctx, x: x, device_type=None)
    with pytest.raises(TypeError):
        gg.amp.custom_bwd(lambda ctx, g: g)  # device_type is required, by keyword
    assert callable(gg.amp.custom_fwd(device_type="cpu"))  # as a decorator factory
    with pytest.warns(FutureWarning, match="deprecated"):
        gg.cuda.amp.custom_fwd(lambda ctx, x: x)


def test_torch_torch_is_the_module_itself():
    assert gg.torch is gg
