"""Module API: registration, traversal, modes, to(), zero_grad, state_dict round trips and repr."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.bn = nn.BatchNorm2d(2)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(8, 3))
        self.scale = nn.Parameter(gg.ones(1))
        self.register_buffer("steps", gg.zeros(1))
        self.register_buffer("scratch", gg.zeros(2), persistent=False)

    def forward(self, x):
        return self.head(self.bn(self.conv(x)).relu()) * self.scale


def test_registration_and_traversal():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "conv.weight", "conv.bias", "bn.weight", "bn.bias", "head.1.weight", "head.1.bias"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad and p.is_leaf for p in net.parameters())
    assert [n for n, _ in net.named_buffers()] == [
        "steps", "scratch", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked",
    ]
    assert [n for n, _ in net.named_children()] == ["conv", "bn", "head"]
    assert [n for n, _ in net.named_modules()] == ["", "conv", "bn", "head", "head.0", "head.1"]
    assert len(list(net.modules())) == 6
    assert net.get_submodule("head.1") is net.head[1]
    assert net.get_parameter("head.1.bias") is net.head[1].bias
    assert [n for n, _ in net.named_parameters(recurse=False)] == ["scale"]
    del net.scale
    assert "scale" not in dict(net.named_parameters())


def test_shared_parameters_are_listed_once():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2
    assert len(list(seq.modules())) == 3


def test_setattr_rules():
    m = nn.Linear(2, 3)
    with pytest.raises(TypeError, match="nn.Parameter or None"):
        m.weight = gg.randn(3, 2)
    m.bias = None
    assert m.bias is None and "bias" not in m.state_dict()
    m.extra = nn.Parameter(gg.zeros(2))
    assert "extra" in dict(m.named_parameters())
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("weight", gg.zeros(1))
    with pytest.raises(KeyError, match='"."'):
        m.register_parameter("a.b", None)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = m.nope

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(gg.zeros(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()


def test_forward_call_and_hooks():
    net = Net()
    x = gg.randn(2, 1, 4, 4)
    seen = []
    handle = net.register_forward_hook(lambda mod, args, out: seen.append(out.shape))
    assert net(x).shape == (2, 3)
    handle.remove()
    net(x)
    assert seen == [(2, 3)]
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(x)


def test_train_eval_propagate():
    net = nn.Sequential(nn.Dropout(0.5), nn.Sequential(nn.BatchNorm1d(3)))
    assert net.training and net[1][0].training
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_zero_grad_sets_none_and_apply():
    net = Net()
    net(gg.randn(2, 1, 4, 4)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net(gg.randn(2, 1, 4, 4)).sum().backward()
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in net.parameters())
    visited = []
    assert net.apply(lambda m: visited.append(type(m).__name__)) is net
    assert visited == ["Conv2d", "BatchNorm2d", "Flatten", "Linear", "Sequential", "Net"]


def test_to_float64_keeps_parameter_identity():
    net = Net()
    params = list(net.parameters())
    before = [p.detach().numpy().copy() for p in params]
    net(gg.randn(2, 1, 4, 4)).sum().backward()
    assert net.to(gg.float64) is net
    after = list(net.parameters())
    assert all(a is b for a, b in zip(params, after))
    assert all(p.dtype == gg.float64 and p.grad.dtype == gg.float64 for p in after)
    for p, old in zip(after, before):
        np.testing.assert_allclose(p.detach().numpy(), old, rtol=1e-7)
    assert net.bn.running_mean.dtype == gg.float64
    assert net.bn.num_batches_tracked.dtype == gg.int64  # integer buffers keep their dtype
    out = net(gg.randn(2, 1, 4, 4, dtype=gg.float64))
    assert out.dtype == gg.float64
    net.float()
    assert all(p.dtype == gg.float32 for p in net.parameters())
    assert net.to("cpu") is net
    with pytest.raises(TypeError, match="floating point"):
        net.to(gg.int64)


def test_module_mro_is_pytorchs():
    """Module's bases are PyTorch's, (Module, object): botorch compares the MRO of its transforms, which mix
    Module with abc.ABC; the state-dict methods are Module's own."""
    assert nn.Module.__mro__ == (nn.Module, object)
    assert "state_dict" in vars(nn.Module) and "load_state_dict" in vars(nn.Module)

    class Extra(nn.Module):
        def get_extra_state(self):
            return {"step": 3}

        def set_extra_state(self, state):
            self.step = state["step"]

    assert Extra().state_dict() == {"_extra_state": {"step": 3}}
    assert not nn.Linear(1, 1)._has_extra_state()


def test_state_dict_round_trip():
    gg.manual_seed(0)
    a = Net()
    a.train()
    a(gg.randn(4, 1, 4, 4))  # moves the BatchNorm running statistics
    sd = a.state_dict()
    assert list(sd) == [
        "scale", "steps", "conv.weight", "conv.bias", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var",
        "bn.num_batches_tracked", "head.1.weight", "head.1.bias",
    ]
    assert "scratch" not in sd  # non-persistent buffer
    assert not any(v.requires_grad for v in sd.values())
    gg.manual_seed(1)
    b = Net()
    result = b.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    for k, v in b.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), sd[k].numpy())
    b.eval(), a.eval()
    x = gg.randn(2, 1, 4, 4)
    np.testing.assert_allclose(a(x).detach().numpy(), b(x).detach().numpy(), rtol=1e-6)
    # Loaded values are copies: changing the source afterwards leaves b alone.
    with gg.no_grad():
        a.scale.fill_(5.0)
    assert b.scale.item() == 1.0


def test_load_state_dict_non_strict_reports_keys():
    m = nn.Linear(3, 2)
    sd = OrderedDict(weight=gg.zeros(2, 3), extra=gg.ones(1))
    result = m.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["bias"] and result.unexpected_keys == ["extra"]
    assert not m.weight.detach().numpy().any()


def test_load_state_dict_lists_every_error_and_changes_nothing():
    m = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    before = {k: v.numpy().copy() for k, v in m.state_dict().items()}
    bad = {k: gg.zeros(*v.shape) if v.ndim else v for k, v in m.state_dict().items()}
    bad["0.weight"] = gg.zeros(3, 3)  # wrong shape
    del bad["1.running_var"]  # missing
    bad["2.weight"] = gg.zeros(1)  # unexpected
    with pytest.raises(RuntimeError) as info:
        m.load_state_dict(bad)
    msg = str(info.value)
    assert 'Missing key(s) in state_dict: "1.running_var"' in msg
    assert 'Unexpected key(s) in state_dict: "2.weight"' in msg
    assert "size mismatch for 0.weight: copying a param with shape (3, 3)" in msg
    for k, v in m.state_dict().items():  # nothing half-loaded, not even the valid entries
        np.testing.assert_array_equal(v.numpy(), before[k])
    with pytest.raises(RuntimeError, match="size mismatch"):  # a mis-shape is an error even when not strict
        m.load_state_dict(bad, strict=False)


def test_load_state_dict_accepts_numpy_and_casts():
    m = nn.Linear(2, 2).double()
    m.load_state_dict({"weight": np.eye(2, dtype=np.float32), "bias": np.array([1.0, 2.0])})
    assert m.weight.dtype == gg.float64
    np.testing.assert_array_equal(m.weight.detach().numpy(), np.eye(2))


def test_repr_like_pytorch():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Sequential(nn.Dropout(0.1)))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Sequential(\n"
        "    (0): Dropout(p=0.1, inplace=False)\n"
        "  )\n"
        ")"
    )
    assert repr(nn.Conv2d(1, 4, 3, stride=2, padding=1, bias=False)) == (
        "Conv2d(1, 4, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)"
    )
    assert repr(nn.LSTM(3, 5, batch_first=True)) == "LSTM(3, 5, batch_first=True)"
    assert repr(nn.BatchNorm2d(4)) == "BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)"
    assert repr(nn.Parameter(gg.zeros(1))).startswith("Parameter containing:\ntensor(")


def test_containers():
    seq = nn.Sequential(OrderedDict(a=nn.Linear(2, 3), b=nn.Tanh()))
    assert isinstance(seq.a, nn.Linear) and seq[1] is seq.b and len(seq) == 2
    assert isinstance(seq[:1], nn.Sequential) and len(seq[:1]) == 1
    seq.append(nn.Linear(3, 1))
    assert seq(gg.randn(4, 2)).shape == (4, 1)
    with pytest.raises(IndexError, match="out of range"):
        seq[5]
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    ml.append(nn.ReLU())
    ml.insert(0, nn.Identity())
    assert len(ml) == 5 and isinstance(ml[0], nn.Identity) and isinstance(ml[-1], nn.ReLU)
    assert len(list(ml.parameters())) == 6
    del ml[0]
    assert [n for n, _ in ml.named_children()] == ["0", "1", "2", "3"]
    md = nn.ModuleDict({"enc": nn.Linear(2, 2)})
    md["dec"] = nn.Linear(2, 1)
    assert list(md.keys()) == ["enc", "dec"] and "dec" in md and len(list(md.parameters())) == 4


def test_parameter_construction():
    base = gg.randn(3, 4)
    p = nn.Parameter(base)
    assert p.requires_grad and p.is_leaf and p.shape == (3, 4)
    assert p._array is base._array  # shares memory, as torch.nn.Parameter does
    assert not nn.Parameter(gg.zeros(2), requires_grad=False).requires_grad
    assert nn.Parameter([1.0, 2.0]).dtype == gg.float32
    y = p * 2
    assert type(y) is gg.Tensor
    y.sum().backward()
    np.testing.assert_array_equal(p.grad.numpy(), np.full((3, 4), 2.0))


def test_seeded_init_is_reproducible():
    gg.manual_seed(42)
    a = nn.Sequential(nn.Linear(4, 3), nn.Conv2d(1, 2, 3), nn.Embedding(5, 2), nn.LSTM(2, 3))
    gg.manual_seed(42)
    b = nn.Sequential(nn.Linear(4, 3), nn.Conv2d(1, 2, 3), nn.Embedding(5, 2), nn.LSTM(2, 3))
    for (k, v), w in zip(a.state_dict().items(), b.state_dict().values()):
        np.testing.assert_array_equal(v.numpy(), w.numpy(), err_msg=k)
    c = nn.Linear(4, 3)
    assert not np.array_equal(c.weight.detach().numpy(), a[0].weight.detach().numpy())
