"""Python's pickle and copy on tensors, modules and optimizers (gpugrad/pickling.py), as in PyTorch: values,
dtype, device, class, requires_grad and attributes come back; the gradient, the hooks and the graph do not."""
import copy
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gpugrad as gg
from gpugrad import backend, nn

DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int8", "uint8", "bool", "complex64"]


def _round_trip(obj):
    return pickle.loads(pickle.dumps(obj))


@settings(max_examples=30, deadline=None)
@given(dtype=st.sampled_from(DTYPES), shape=st.lists(st.integers(0, 4), max_size=3), transpose=st.booleans(),
       requires_grad=st.booleans())
def test_a_tensor_comes_back_with_its_values_dtype_strides_and_requires_grad(dtype, shape, transpose, requires_grad):
    t = gg.tensor(np.arange(int(np.prod(shape))).reshape(shape) % 3).to(getattr(gg, dtype))
    if transpose:
        t = t.t() if t.dim() == 2 else t
    requires_grad = requires_grad and t.is_floating_point()
    t.requires_grad_(requires_grad)
    back = _round_trip(t)
    assert type(back) is gg.Tensor and back.dtype == t.dtype and back.shape == t.shape
    assert back.stride() == t.stride() or t.numel() == 0
    assert back.requires_grad == requires_grad and back.is_leaf and back.grad is None
    np.testing.assert_array_equal(back.detach().float().numpy(), t.detach().float().numpy())
    if t.numel():
        assert back.data_ptr() != t.data_ptr()


def test_what_is_left_out_as_in_pytorch():
    x = gg.randn(3, requires_grad=True)
    x.grad = gg.ones(3)
    x.register_hook(lambda g: g * 2)  # a lambda: pickling it would fail, so hooks must be left out
    y = x * 2
    back_x, back_y = _round_trip([x, y])
    assert back_x.grad is None and back_x.requires_grad
    assert back_y.is_leaf and back_y.grad_fn is None and back_y.requires_grad  # a non-leaf comes back a leaf
    np.testing.assert_array_equal(back_y.detach().numpy(), y.detach().numpy())
    (back_x * 1).sum().backward()
    np.testing.assert_array_equal(back_x.grad.numpy(), np.ones(3, np.float32))  # the hook did not come back


class Tagged(gg.Tensor):
    """A user's subclass (module level: pickle finds a class by its name)."""


def test_parameters_buffers_and_subclasses_keep_class_and_attributes():
    p = nn.Parameter(gg.randn(2, 2))
    p._is_hf_initialized = True
    frozen = nn.Parameter(gg.randn(2), requires_grad=False)
    b = nn.Buffer(gg.zeros(3), persistent=False)
    tagged = gg.randn(2).as_subclass(Tagged)
    tagged.note = "kept"
    back_p, back_frozen, back_b, back_tagged = _round_trip([p, frozen, b, tagged])
    assert type(back_p) is nn.Parameter and back_p.requires_grad and back_p._is_hf_initialized
    assert dict(back_p.__dict__) == {"_is_hf_initialized": True}
    assert type(back_frozen) is nn.Parameter and not back_frozen.requires_grad
    assert type(back_b) is nn.Buffer and back_b.persistent is False
    assert type(back_tagged) is Tagged and back_tagged.note == "kept"


def test_the_same_tensor_twice_comes_back_as_one_object():
    w = gg.randn(2)
    a, b = _round_trip([w, w])
    assert a is b


def test_sparse_and_meta_tensors():
    s = gg.sparse_coo_tensor([[0, 2, 2]], gg.tensor([1.0, 2.0, 3.0]), (4,))
    back = _round_trip(s)
    assert back.is_sparse and not back.is_coalesced() and back._nnz() == 3
    np.testing.assert_array_equal(back.to_dense().numpy(), s.to_dense().numpy())
    m = gg.empty(2, 3, dtype=gg.float64, device="meta")
    back_m = _round_trip(m)
    assert back_m.device.type == "meta" and back_m.shape == (2, 3) and back_m.dtype == gg.float64


def test_copy_copy_shares_memory_deepcopy_does_not():
    t = gg.zeros(3, requires_grad=True)
    shallow, deep = copy.copy(t), copy.deepcopy(t)
    assert shallow is not t and shallow.requires_grad
    assert shallow.data_ptr() == t.data_ptr() and deep.data_ptr() != t.data_ptr()


def _train(model, opt, x, steps):
    for _ in range(steps):
        opt.zero_grad()
        model(x).square().mean().backward()
        opt.step()


@pytest.mark.parametrize("make_opt", [lambda ps: gg.optim.Adam(ps, lr=0.01), lambda ps: gg.optim.SGD(ps, 0.1, 0.9)],
                         ids=["adam", "sgd-momentum"])
def test_a_model_and_its_optimizer_pickled_together_train_on_as_the_original(make_opt):
    gg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 2))
    opt = make_opt(model.parameters())
    x = gg.randn(5, 3)
    _train(model, opt, x, 2)
    model2, opt2 = _round_trip((model, opt))
    assert [p for g in opt2.param_groups for p in g["params"]] == list(model2.parameters())
    assert all(p.grad is None for p in model2.parameters())
    _train(model, opt, x, 3)
    _train(model2, opt2, x, 3)
    for (name, a), b in zip(model.state_dict().items(), model2.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)


def test_the_restored_optimizer_updates_the_restored_parameters_not_old_buffers():
    # The fused step keeps the parameters in flat buffers: they are left out of the pickle and rebuilt.
    model = nn.Linear(4, 4)
    opt = gg.optim.Adam(model.parameters(), lr=0.1)
    _train(model, opt, gg.ones(2, 4), 1)
    model2, opt2 = copy.deepcopy((model, opt))
    before = model2.weight.detach().clone()
    _train(model2, opt2, gg.ones(2, 4), 1)
    assert not gg.equal(model2.weight.detach(), before)
    np.testing.assert_array_equal(opt2.state[model2.weight]["exp_avg"].shape, (4, 4))


def test_a_scheduler_pickles_with_its_optimizer():
    model = nn.Linear(2, 2)
    opt = gg.optim.SGD(model.parameters(), lr=1.0)
    sched = gg.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    opt.step()
    sched.step()
    sched2 = _round_trip(sched)
    assert sched2.optimizer.param_groups[0]["lr"] == 0.5 and sched2.last_epoch == 1


def test_parametrized_modules_still_refuse():
    layer = nn.utils.parametrizations.weight_norm(nn.Linear(2, 2))
    with pytest.raises(RuntimeError, match="state_dict"):
        pickle.dumps(layer)


def test_the_same_fields_as_pytorch():
    torch = pytest.importorskip("torch")
    for lib in (gg, torch):
        x = lib.arange(6.0).reshape(2, 3).t().requires_grad_()
        x.grad = lib.ones(3, 2)
        y = x * 2
        p = lib.nn.Parameter(lib.ones(2))
        p.tag = 1
        got = _round_trip([x, y, p])
        fields = [(t.stride(), t.requires_grad, t.is_leaf, t.grad is None, type(t).__name__, t.tolist()) for t in got]
        if lib is gg:
            ours = fields
    assert ours == fields and got[2].tag == 1


@pytest.mark.cuda
@pytest.mark.cudasim
@pytest.mark.skipif(not (gg.cuda.is_available() or backend.simulating_cuda()), reason="needs a GPU or the simulator")
def test_a_cuda_tensor_comes_back_on_its_device():
    t = gg.arange(4.0, device="cuda").requires_grad_()
    back = _round_trip(t)
    assert back.device == gg.device("cuda:0") and back.requires_grad
    np.testing.assert_array_equal(back.detach().cpu().numpy(), [0.0, 1.0, 2.0, 3.0])
