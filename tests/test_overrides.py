"""PyTorch's ``__torch_function__`` protocol (gpugrad/overrides.py): Tensor subclasses keep their class
through ops, a class's handler takes calls over, objects that are not tensors are handed their calls,
modes see every public call, and the switches turn it off."""
from __future__ import annotations

import pickle
from typing import ClassVar

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad.overrides import (
    BaseTorchFunctionMode,
    DisableTorchFunction,
    DisableTorchFunctionSubclass,
    TorchFunctionMode,
    handle_torch_function,
    has_torch_function,
    is_tensor_like,
)


class Tagged(gg.Tensor):
    """A subclass that inherits Tensor's handler: results come back as Tagged."""


class Recording(gg.Tensor):
    """A subclass whose handler records the function each call was handed over as."""

    calls: ClassVar[list] = []

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        cls.calls.append(func)
        return super().__torch_function__(func, types, args, kwargs)


class Scaled:
    """Not a tensor: a value and a scale, with its own meaning for a few functions."""

    def __init__(self, value: gg.Tensor, scale: float) -> None:
        self.value, self.scale = value, scale

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in (gg.add, gg.Tensor.add):
            a, b = args
            a = a.value * a.scale if isinstance(a, Scaled) else a
            b = b.value * b.scale if isinstance(b, Scaled) else b
            return gg.add(a, b, **kwargs)
        if func is gg.Tensor.matmul:  # tensor @ Scaled
            return args[0] @ (args[1].value * args[1].scale)
        if func is gg.numel:
            return args[0].value.numel()
        return NotImplemented


def tagged(*values, requires_grad=False) -> Tagged:
    return gg.tensor(list(values), requires_grad=requires_grad).as_subclass(Tagged)


def test_results_of_ops_on_a_subclass_are_the_subclass():
    x = tagged(1.0, -2.0, 3.0)
    results = [x + 1, 2 * x, 1 - x, x / 2, -x, x ** 2, x @ x, x.sum(), x.exp(), gg.exp(x), F.relu(x), x[0], x.view(3),
               x.detach(), x.clone(), gg.cat([gg.ones(1), x]), x.unsqueeze(0).t(), gg.linalg.vector_norm(x), x.data,
               x.unsqueeze(0).T, x.unsqueeze(0).mT]
    assert all(type(r) is Tagged for r in results), [type(r).__name__ for r in results]
    values, indices = x.max(dim=0)  # a named tuple of tensors: each converted, the tuple kept
    assert type(values) is Tagged and type(indices) is Tagged
    assert [type(t) for t in x.split(1)] == [Tagged] * 3
    assert (x + 1).tolist() == [2.0, -1.0, 4.0] and isinstance(x > 0, Tagged)
    assert type(x.tolist()) is list and type(x.sum().item()) is float and x.dim() == 1


def test_gradients_flow_through_the_subclass_as_through_a_tensor():
    leaf = gg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x = leaf.as_subclass(Tagged)
    y = (x * x).sum()
    assert type(y) is Tagged
    y.backward()
    np.testing.assert_allclose(leaf.grad.numpy(), [2.0, 4.0, 6.0])


def test_attributes_of_the_input_are_not_copied_to_results():
    x = tagged(1.0, 2.0)
    x.label = "inputs"
    assert x.label == "inputs" and not hasattr(x + 1, "label")


def test_a_handler_is_given_the_function_called_as_pytorch_names_it():
    x = gg.ones(2).as_subclass(Recording)
    Recording.calls = []
    x * 2, 2 * x, x + x, 1 - x, x @ x, -x, x < 1, x[0], gg.add(x, 1), F.relu(x), x.sum(), gg.linalg.norm(x)
    assert Recording.calls == [gg.Tensor.mul, gg.Tensor.mul, gg.Tensor.add, gg.Tensor.__rsub__, gg.Tensor.matmul,
                               gg.Tensor.neg, gg.Tensor.lt, gg.Tensor.__getitem__, gg.add, F.relu, gg.Tensor.sum,
                               gg.linalg.norm]


def test_a_plain_tensor_beside_a_subclass_hands_the_call_to_the_subclass():
    Recording.calls = []
    out = gg.ones(2) + gg.ones(2).as_subclass(Recording)
    assert type(out) is Recording and Recording.calls == [gg.Tensor.add]


def test_a_handler_can_take_the_call_over():
    class Constant(gg.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            return "taken" if func is gg.exp else super().__torch_function__(func, types, args, kwargs)

    c = gg.ones(2).as_subclass(Constant)
    assert gg.exp(c) == "taken" and type(c.log()) is Constant


def test_the_most_derived_class_is_asked_first():
    order = []

    class Base(gg.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            order.append(cls.__name__)
            return super().__torch_function__(func, types, args, kwargs)

    class Derived(Base):
        pass

    out = gg.add(gg.ones(1).as_subclass(Base), gg.ones(1).as_subclass(Derived))
    assert order == ["Derived"] and type(out) is Derived


def test_an_object_that_is_not_a_tensor_is_handed_its_calls():
    s = Scaled(gg.tensor([1.0, 2.0]), 3.0)
    assert gg.add(s, 1).tolist() == [4.0, 7.0]
    assert gg.add(gg.ones(2), s).tolist() == [4.0, 7.0]
    assert (gg.ones(2) + s).tolist() == [4.0, 7.0]  # the operator hands it over as Tensor.add
    assert (gg.ones(2) @ s).item() == 9.0
    assert gg.numel(s) == 2
    with pytest.raises(TypeError, match="no implementation found for 'gpugrad[.a-z]*exp'.*Scaled"):
        gg.exp(s)


def test_a_parameter_opts_out_and_stays_a_plain_tensor_to_ops():
    p = gg.nn.Parameter(gg.ones(2))
    assert type(p * 2) is gg.Tensor and not has_torch_function((p,))


def test_a_mode_sees_every_public_call_once_and_what_it_calls_runs_normally():
    seen = []

    class Logging(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            seen.append(func.__name__)
            return func(*args, **(kwargs or {}))

    a, b = gg.ones(3), gg.full((3,), 2.0)
    with Logging():
        y = F.relu(a + b).sum()
        z = gg.zeros(2)
    assert seen == ["add", "relu", "sum", "zeros"]  # not the ops relu and sum call inside
    assert y.item() == 9.0 and z.tolist() == [0.0, 0.0]
    seen.clear()
    a + b
    assert seen == []  # left: nothing sees calls


def test_a_mode_can_replace_a_function():
    class NoInit(BaseTorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            if func is gg.nn.init.normal_:
                return args[0]
            return super().__torch_function__(func, types, args, kwargs)

    w = gg.zeros(4)
    with NoInit():
        gg.nn.init.normal_(w)
        assert (w + 1).tolist() == [1.0] * 4
    assert w.tolist() == [0.0] * 4


def test_switches_turn_handlers_and_modes_off():
    Recording.calls = []
    x = gg.ones(2).as_subclass(Recording)
    with DisableTorchFunctionSubclass():
        out = x + 1
    assert type(out) is gg.Tensor and Recording.calls == []

    class Refusing(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            raise AssertionError("the mode was asked")

    with Refusing(), DisableTorchFunction():
        assert (gg.ones(1) + 1).item() == 2.0


def test_helpers_say_what_pytorch_says():
    x = gg.ones(1).as_subclass(Recording)
    assert has_torch_function((x,)) and not has_torch_function((gg.ones(1), 1.0))
    assert is_tensor_like(gg.ones(1)) and is_tensor_like(Scaled(gg.ones(1), 1.0)) and not is_tensor_like([1.0])

    def double(t):
        if has_torch_function((t,)):
            return handle_torch_function(double, (t,), t)
        return t * 2

    Recording.calls = []
    assert type(double(x)) is Recording and Recording.calls[0] is double


def test_routed_functions_still_pickle_by_name_and_keep_their_names():
    assert pickle.loads(pickle.dumps(gg.add)) is gg.add
    assert pickle.loads(pickle.dumps(F.relu)) is F.relu
    assert gg.special.erf is gg.erf and gg.add.__name__ == "add"


def test_errors_of_plain_calls_are_unchanged():
    with pytest.raises(gg.ShapeError):
        gg.ones(2) + gg.ones(3)
    with pytest.raises(TypeError):
        gg.ones(2) + [1, 2]


def test_warnings_from_a_public_op_point_at_the_callers_line():
    with pytest.warns(UserWarning, match="Implicit dimension choice") as record:
        F.softmax(gg.ones(2, 2))
    with pytest.warns(UserWarning, match="different to the input size") as record_loss:
        F.mse_loss(gg.ones(3), gg.ones(1))
    assert record[0].filename == __file__ and record_loss[0].filename == __file__


def test_leaving_the_last_mode_disarms_unless_a_class_armed_it():
    from gpugrad import overrides

    with BaseTorchFunctionMode():
        assert overrides.armed and overrides.modes_entered == 1
    assert overrides.modes_entered == 0 and overrides.armed == overrides.classes_met  # this module's subclasses arm it


def test_make_subclass_wraps_data_as_a_leaf_of_the_class_sharing_memory():
    data = gg.ones(2, requires_grad=True) * 2
    p = gg.Tensor._make_subclass(Tagged, data, True)
    assert type(p) is Tagged and p.requires_grad and p.is_leaf and p.grad_fn is None
    with gg.no_grad():
        p.add_(1)
    assert data.tolist() == [3.0, 3.0] and data._version == p._version == 1
    with pytest.raises(TypeError, match="does not inherit from Tensor"):
        gg.Tensor._make_subclass(int, data)


def test_wrap_torch_function_makes_a_users_function_overridable():
    @gg.overrides.wrap_torch_function(lambda t, scale=1.0: (t,))
    def scaled(t, scale=1.0):
        return t * scale

    Recording.calls = []
    assert type(scaled(gg.ones(1).as_subclass(Recording), 3.0)) is Recording and Recording.calls[0] is scaled
    assert scaled(gg.ones(1), 2.0).item() == 2.0


def test_a_subclass_new_may_take_keywords_of_its_own():
    class Labelled(gg.Tensor):
        def __new__(cls, data, label=""):
            out = data.as_subclass(cls)
            out.label = label
            return out

    t = Labelled(gg.ones(2), label="weights")  # Tensor.__init__ is then called with the same keywords
    assert t.label == "weights" and type(t * 2) is Labelled


def test_layers_hand_their_calls_over_and_sequential_does_not_fuse_past_a_handler():
    gg.manual_seed(0)
    seq = gg.nn.Sequential(gg.nn.Linear(3, 4), gg.nn.ReLU(), gg.nn.Linear(4, 2))
    conv = gg.nn.Sequential(gg.nn.Conv2d(1, 2, 3), gg.nn.ReLU())
    x = gg.ones(5, 3).as_subclass(Tagged)
    assert type(seq(x)) is Tagged and type(conv(gg.ones(1, 1, 5, 5).as_subclass(Tagged))) is Tagged
    np.testing.assert_allclose(seq(x).detach().numpy(), seq(gg.ones(5, 3)).detach().numpy(), rtol=1e-6)
    seen = []

    class Logging(BaseTorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            seen.append(func.__name__)
            return super().__torch_function__(func, types, args, kwargs)

    plain = gg.ones(5, 3)
    with Logging():
        seq(plain)
    assert seen == ["linear", "relu", "linear"]


@pytest.mark.torch
def test_pytorch_tensors_stay_data_and_are_never_handed_calls():
    torch = pytest.importorskip("torch")
    t = torch.tensor([1.0, 2.0])
    assert not gg.overrides.takes_calls(type(t)) and not gg.overrides.takes_calls(torch.nn.Parameter)
    assert gg.tensor(t).tolist() == [1.0, 2.0] and gg.add(gg.ones(2), t).tolist() == [2.0, 3.0]
    assert gg.overrides.takes_calls(Tagged) and not gg.overrides.takes_calls(gg.nn.Parameter)


def _protocol_run(lib):
    """What a handler and a mode see, and what comes back, for the same calls under ``lib``."""
    F_ = lib.nn.functional

    class Rec(lib.Tensor):
        names: ClassVar[list] = []

        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            cls.names.append(func.__name__)
            return super().__torch_function__(func, types, args, kwargs)

    class Mode(lib.overrides.TorchFunctionMode):
        names: ClassVar[list] = []

        def __torch_function__(self, func, types, args=(), kwargs=None):
            self.names.append(func.__name__)
            return func(*args, **(kwargs or {}))

    lib.manual_seed(0)
    lin = lib.nn.Linear(2, 2)
    x = lib.ones(2, 2).as_subclass(Rec)
    results = [x * 2, 2 * x, x + x, 1 - x, x @ x, -x, x < 1, x[0], lib.add(x, 1), F_.relu(x), x.sum(), lin(x),
               lib.cat([x, x]), *x.max(dim=0), *x.split(1)]
    handed = list(Rec.names)
    results += [x.T, x.mT, x.data, x.detach()]
    with lib._C.DisableTorchFunctionSubclass():
        results.append(x + 1)
    plain = lib.ones(2)
    with Mode():
        plain + 1, lib.exp(plain), F_.relu(plain), lib.zeros(2), plain.sum()
    made = lib.Tensor._make_subclass(Rec, lib.ones(2) * 2, True)

    @lib.overrides.wrap_torch_function(lambda t: (t,))
    def double(t):
        return t * 2

    Rec.names.clear()
    results.append(double(x))
    wrapped = list(Rec.names)  # before reading made's properties, which PyTorch hands over too (gpugrad does not)
    return (handed, [type(r).__name__ for r in results], Mode.names, wrapped,
            (type(made).__name__, made.requires_grad, made.is_leaf, made.grad_fn is None))


@pytest.mark.torch
def test_handlers_and_modes_see_and_return_what_pytorchs_do():
    torch = pytest.importorskip("torch")
    assert _protocol_run(gg) == _protocol_run(torch)
