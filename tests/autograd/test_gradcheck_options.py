"""gradcheck and gradgradcheck with PyTorch's keyword options."""
import pytest

import gpugrad as gg


def _x():
    return gg.tensor([0.3, -1.2, 2.0], dtype=gg.float64, requires_grad=True)


def test_forward_mode_is_checked_too():
    assert gg.autograd.gradcheck(lambda x: x.sin() * x, (_x(),), check_forward_ad=True, fast_mode=True,
                                 check_grad_dtypes=True, nondet_tol=0.0, check_undefined_grad=True)
    assert gg.autograd.gradcheck(lambda x: x.exp(), (_x(),), check_backward_ad=False, check_forward_ad=True)


def test_a_wrong_backward_still_fails_with_the_options():
    class Wrong(gg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 2

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x  # should be 2x

    assert not gg.autograd.gradcheck(Wrong.apply, (_x(),), fast_mode=False, raise_exception=False)
    with pytest.raises(gg.autograd.GradcheckError, match="backward"):
        gg.autograd.gradcheck(Wrong.apply, (_x(),), check_forward_ad=True)


def test_gradgradcheck_takes_grad_outputs_and_refuses_what_it_cannot_check():
    assert gg.autograd.gradgradcheck(lambda x: x.exp() * x, (_x(),), gg.ones(3, dtype=gg.float64))
    with pytest.raises(NotImplementedError, match="check_batched_grad"):
        gg.autograd.gradcheck(lambda x: x * 2, (_x(),), check_batched_grad=True)
    with pytest.raises(NotImplementedError, match="check_fwd_over_rev"):
        gg.autograd.gradgradcheck(lambda x: x * 2, (_x(),), check_fwd_over_rev=True)
