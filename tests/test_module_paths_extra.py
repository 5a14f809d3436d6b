"""PyTorch module paths gpugrad re-exports or adds (torch.optim.adamw, torch.autograd.anomaly_mode,
torch.cpu.amp, torch.nn.utils.spectral_norm, torch.nn.attention.bias, torch.multiprocessing.pool / queue,
torch.utils.model_zoo / weak / module_tracker) and the global module forward hooks module_tracker uses."""
from __future__ import annotations

import gc
import importlib
import math
import warnings

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad import nn


@pytest.mark.parametrize("path,names", [
    ("gpugrad.optim.adamw", ["AdamW", "adamw"]),
    ("gpugrad.autograd.anomaly_mode", ["detect_anomaly", "set_detect_anomaly"]),
    ("gpugrad.cpu.amp", ["autocast", "GradScaler"]),
    ("gpugrad.cpu.amp.autocast_mode", ["autocast"]),
    ("gpugrad.cpu.amp.grad_scaler", ["GradScaler"]),
    ("gpugrad.nn.utils.spectral_norm", ["SpectralNorm", "SpectralNormLoadStateDictPreHook",
                                        "SpectralNormStateDictHook", "spectral_norm", "remove_spectral_norm"]),
    ("gpugrad.nn.attention.bias", ["causal_upper_left", "causal_lower_right", "CausalVariant", "CausalBias"]),
    ("gpugrad.multiprocessing.pool", ["Pool", "SimpleQueue", "clean_worker"]),
    ("gpugrad.multiprocessing.queue", ["ConnectionWrapper", "Queue", "SimpleQueue"]),
    ("gpugrad.utils.model_zoo", ["load_url", "tqdm"]),
    ("gpugrad.utils.weak", ["TensorWeakRef", "WeakIdRef", "WeakIdKeyDictionary", "WeakTensorKeyDictionary"]),
    ("gpugrad.utils.module_tracker", ["ModuleTracker"]),
    ("gpugrad.utils.flop_counter", ["FlopCounterMode", "register_flop_formula"]),
    ("gpugrad.nn.modules.module", ["register_module_forward_pre_hook", "register_module_forward_hook"]),
    ("gpugrad._jit_internal", ["_copy_to_script_wrapper", "is_scripting", "ignore", "unused", "export"]),
])
def test_paths_import_with_pytorchs_names(path, names):
    module = importlib.import_module(path)
    for name in names:
        assert hasattr(module, name), f"{path}.{name}"


def test_re_exports_are_gpugrads_objects():
    from gpugrad.autograd import anomaly_mode
    from gpugrad.optim import adamw
    from gpugrad.utils import model_zoo

    assert adamw.AdamW is gg.optim.AdamW and gg.optim.adamw is adamw
    assert anomaly_mode.detect_anomaly is gg.autograd.detect_anomaly
    assert anomaly_mode.set_detect_anomaly is gg.autograd.set_detect_anomaly
    assert model_zoo.load_url is gg.hub.load_state_dict_from_url
    assert gg.nn.utils.spectral_norm is importlib.import_module("gpugrad.nn.utils.spectral_norm").spectral_norm
    assert callable(gg.nn.utils.weight_norm)  # the submodules' import leaves the functions bound in nn.utils


def _adamw_reference(p, g, m, v, vmax, step, lr, beta1, beta2, eps, wd, amsgrad, maximize):
    g = -g if maximize else g
    p = p * (1 - lr * wd)
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    vmax = np.maximum(vmax, v)
    denom = np.sqrt(vmax if amsgrad else v) / math.sqrt(1 - beta2**step) + eps
    return p - lr / (1 - beta1**step) * m / denom, m, v, vmax


@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("maximize", [False, True])
def test_functional_adamw_follows_the_update(amsgrad, maximize, rng):
    shapes = [(3, 4), (5,)]
    params = [rng.standard_normal(s) for s in shapes]
    state = [[np.zeros(s) for s in shapes] for _ in range(3)]
    ours = [[gg.tensor(p) for p in params]] + [[gg.zeros(s, dtype=gg.float64) for s in shapes] for _ in range(3)]
    steps = [gg.tensor(0.0, dtype=gg.float64) for _ in shapes]
    for step in range(1, 5):
        grads = [rng.standard_normal(s) for s in shapes]
        gg.optim.adamw.adamw(ours[0], [gg.tensor(g) for g in grads], ours[1], ours[2], ours[3], steps,
                             amsgrad=amsgrad, beta1=0.9, beta2=0.99, lr=0.01, weight_decay=0.1, eps=1e-8,
                             maximize=maximize)
        for i in range(len(shapes)):
            params[i], state[0][i], state[1][i], state[2][i] = _adamw_reference(
                params[i], grads[i], state[0][i], state[1][i], state[2][i], step, 0.01, 0.9, 0.99, 1e-8, 0.1, amsgrad,
                maximize)
    for got, want in zip(ours[0], params):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-14)
    assert [s.item() for s in steps] == [4.0, 4.0]
    with pytest.raises(RuntimeError, match="singleton tensors"):
        gg.optim.adamw.adamw(ours[0], ours[1], ours[1], ours[2], ours[3], [0, 0], amsgrad=False, beta1=0.9,
                             beta2=0.99, lr=0.01, weight_decay=0.0, eps=1e-8, maximize=False)


@pytest.mark.torch
def test_functional_adamw_matches_pytorch(rng):
    torch = pytest.importorskip("torch")
    from torch.optim.adamw import adamw as theirs

    params = [rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal(6).astype(np.float32)]
    for amsgrad in (False, True):
        a = [[gg.tensor(p) for p in params]] + [[gg.zeros(p.shape) for p in params] for _ in range(3)]
        b = [[torch.tensor(p) for p in params]] + [[torch.zeros(p.shape) for p in params] for _ in range(3)]
        sa, sb = [gg.tensor(0.0) for _ in params], [torch.tensor(0.0) for _ in params]
        for _ in range(6):
            grads = [rng.standard_normal(p.shape).astype(np.float32) for p in params]
            kw = {"amsgrad": amsgrad, "beta1": 0.9, "beta2": 0.999, "lr": 1e-2, "weight_decay": 0.05, "eps": 1e-8,
                  "maximize": False}
            gg.optim.adamw.adamw(a[0], [gg.tensor(g) for g in grads], a[1], a[2], a[3], sa, **kw)
            theirs(b[0], [torch.tensor(g) for g in grads], b[1], b[2], b[3], sb, **kw)
        for x, y in zip(a[0], b[0]):
            np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-6, atol=1e-7)


def test_cpu_amp_is_the_deprecated_spelling_of_cpu_autocast():
    with pytest.warns(FutureWarning, match="torch.amp.autocast"):
        region = gg.cpu.amp.autocast()
    with region:
        assert gg.is_autocast_enabled("cpu") and (gg.ones(2, 2) @ gg.ones(2, 2)).dtype is gg.bfloat16
    assert not gg.is_autocast_enabled("cpu")
    with pytest.warns(FutureWarning, match="torch.amp.GradScaler"):
        scaler = gg.cpu.amp.GradScaler(init_scale=8.0)
    assert isinstance(scaler, gg.amp.GradScaler) and scaler.get_scale() == 8.0


def test_spectral_norm_module_path_and_state_dict_hooks(rng):
    sn_module = importlib.import_module("gpugrad.nn.utils.spectral_norm")  # (the attribute is the function)

    layer = sn_module.spectral_norm(nn.Linear(5, 4))
    state = layer.state_dict()
    assert sorted(state) == ["bias", "weight_orig", "weight_u", "weight_v"]
    assert state._metadata[""]["spectral_norm"] == {"weight.version": 1}
    fresh = sn_module.spectral_norm(nn.Linear(5, 4))
    fresh.load_state_dict(state)
    np.testing.assert_array_equal(fresh.weight_v.numpy(), layer.weight_v.numpy())
    # A version-0 state (weight saved, weight_v not) gets the v that reproduces its sigma.
    layer.eval()
    layer(gg.zeros(1, 5))
    old = {k: v for k, v in layer.state_dict().items() if k != "weight_v"}
    old["weight"] = layer.weight.detach()
    old = type(state)(old)
    old._metadata = {"": {"version": 1}}
    fresh = sn_module.spectral_norm(nn.Linear(5, 4)).eval()
    fresh.load_state_dict(old)
    fresh(gg.zeros(1, 5))
    np.testing.assert_allclose(fresh.weight.detach().numpy(), layer.weight.detach().numpy(), rtol=1e-4, atol=1e-5)
    sn_module.remove_spectral_norm(fresh)
    assert "weight" in dict(fresh.named_parameters())


def test_causal_biases_are_their_masks(rng):
    from gpugrad.nn.attention.bias import (
        CausalBias,
        CausalVariant,
        causal_lower_right,
        causal_upper_left,
    )

    upper, lower = causal_upper_left(3, 5), causal_lower_right(3, 5)
    assert isinstance(upper, CausalBias) and isinstance(upper, gg.Tensor) and upper.dtype is gg.bool
    assert upper.variant is CausalVariant.UPPER_LEFT and (upper.seq_len_q, upper.seq_len_kv) == (3, 5)
    np.testing.assert_array_equal(upper.numpy(), np.tril(np.ones((3, 5), bool)))
    np.testing.assert_array_equal(lower._materialize().numpy(), np.tril(np.ones((3, 5), bool), k=2))
    assert repr(lower) == repr(lower._materialize())
    with pytest.raises(AssertionError, match="only supports 2D"):
        causal_upper_left(3)
    with pytest.raises(AssertionError, match="CausalVariant"):
        CausalBias(1, 3, 3)
    with pytest.warns(UserWarning, match="seq_len_q > seq_len_kv"):
        causal_lower_right(5, 3)
    q, k, v = (gg.tensor(rng.standard_normal(s)) for s in ((2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 5)))
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=causal_lower_right(4, 6))
    want = F.scaled_dot_product_attention(q, k, v, attn_mask=gg.tensor(np.tril(np.ones((4, 6), bool), k=2)))
    np.testing.assert_array_equal(out.numpy(), want.numpy())
    square = F.scaled_dot_product_attention(q, q, q, attn_mask=causal_upper_left(4, 4))
    np.testing.assert_allclose(square.numpy(), F.scaled_dot_product_attention(q, q, q, is_causal=True).numpy(),
                               rtol=1e-12)
    with pytest.raises(ValueError):
        F.scaled_dot_product_attention(q, q, q, attn_mask=causal_upper_left(4, 4), is_causal=True)


@pytest.mark.torch
def test_causal_biases_match_pytorchs_attention(rng):
    torch = pytest.importorskip("torch")
    import torch.nn.attention.bias as theirs

    from gpugrad.nn.attention import bias as ours

    for L, S in ((4, 4), (3, 7), (6, 2)):
        arrays = [rng.standard_normal(s).astype(np.float32) for s in ((2, 2, L, 8), (2, 2, S, 8), (2, 2, S, 3))]
        for name in ("causal_upper_left", "causal_lower_right"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                got = F.scaled_dot_product_attention(*map(gg.tensor, arrays), attn_mask=getattr(ours, name)(L, S))
                want = torch.nn.functional.scaled_dot_product_attention(*map(torch.tensor, arrays),
                                                                        attn_mask=getattr(theirs, name)(L, S))
            np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6, err_msg=f"{name} {L} {S}")
    assert [m.value for m in ours.CausalVariant] == [m.value for m in theirs.CausalVariant]


def _double(t):
    return t * 2


def test_pool_and_queues_carry_tensors():
    from gpugrad.multiprocessing.pool import Pool
    from gpugrad.multiprocessing.queue import Queue, SimpleQueue

    ctx = gg.multiprocessing.get_context("fork")
    with Pool(1, context=ctx) as pool:
        got = pool.map(_double, [gg.ones(2), gg.arange(3)])
    assert [t.tolist() for t in got] == [[2.0, 2.0], [0, 2, 4]]
    for queue in (Queue(ctx=ctx), SimpleQueue(ctx=ctx)):
        queue.put(gg.arange(4.0))
        assert queue.get().tolist() == [0.0, 1.0, 2.0, 3.0]


def test_weak_tensor_key_dictionary():
    from gpugrad.utils.weak import TensorWeakRef, WeakIdRef, WeakTensorKeyDictionary

    a, b = gg.ones(2), gg.ones(2)  # equal values, two keys: identity decides, never ==
    d = WeakTensorKeyDictionary()
    d[a], d[b] = "a", "b"
    assert len(d) == 2 and d[a] == "a" and d[b] == "b" and a in d and 3 not in d and d.get(gg.ones(2)) is None
    assert [k is a or k is b for k in d] == [True, True] and sorted(d.values()) == ["a", "b"]
    del b
    gc.collect()
    assert len(d) == 1 and next(iter(d.keys())) is a
    assert d.setdefault(a, "z") == "a" and d.pop(a) == "a" and len(d) == 0
    c = gg.zeros(1)
    d.update({c: 1})
    copy = d.copy()
    assert copy[c] == 1 and copy == d and (d | {}) == d
    ref = TensorWeakRef(c)
    assert ref() is c and WeakIdRef(c) == WeakIdRef(c) and hash(WeakIdRef(c)) == id(c)
    del c, copy
    gc.collect()
    assert ref() is None and len(d) == 0
    with pytest.raises(AssertionError, match="expected torch.Tensor"):
        TensorWeakRef([1])


class _Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x):
        return self.fc(x).relu()


def test_global_forward_hooks_see_every_module_and_go_away():
    from gpugrad.nn.modules.module import (
        register_module_forward_hook,
        register_module_forward_pre_hook,
    )

    model = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), _Block())
    x = gg.randn(2, 3)
    expected = model(x)
    seen = []
    pre = register_module_forward_pre_hook(lambda m, args: seen.append(("pre", type(m).__name__)))
    post = register_module_forward_hook(lambda m, args, out: seen.append(("post", type(m).__name__)))
    try:
        np.testing.assert_array_equal(model(x).detach().numpy(), expected.detach().numpy())  # fused pair, unfused
    finally:
        pre.remove()
        post.remove()
    assert seen == [("pre", "Sequential"), ("pre", "Linear"), ("post", "Linear"), ("pre", "ReLU"), ("post", "ReLU"),
                    ("pre", "_Block"), ("pre", "Linear"), ("post", "Linear"), ("post", "_Block"),
                    ("post", "Sequential")]
    pre = register_module_forward_pre_hook(lambda m, args: seen.append("pre"))
    post = register_module_forward_hook(lambda m, args, out: seen.append("post"))
    pre.remove()
    seen.clear()
    nn.ReLU()(gg.ones(1))
    assert seen == ["post"]  # one global hook is left
    post.remove()
    nn.ReLU()(gg.ones(1))
    assert seen == ["post"]
    replaced = register_module_forward_hook(lambda m, args, kwargs, out: out * 0, with_kwargs=True)
    try:
        assert not nn.Linear(2, 2)(gg.ones(1, 2)).any()
    finally:
        replaced.remove()
    calls = []
    failing = register_module_forward_hook(lambda m, args, out: calls.append(out), always_call=True)
    try:
        with pytest.raises(gg.ShapeError):
            nn.Linear(2, 2)(gg.ones(1, 3))
    finally:
        failing.remove()
    assert calls == [None] and not nn.module._global_forward_hooks


def _tracked(lib, tracker_cls, Block):
    model = lib.nn.Sequential(lib.nn.Linear(3, 3), Block())
    log = []
    with tracker_cls() as tracker:
        x = lib.ones(2, 3, requires_grad=True)
        hidden = model[0](x)
        hidden.register_hook(lambda g: log.append(("bw-hidden", sorted(tracker.parents), tracker.is_bw)))
        log.append(("fw", sorted(tracker.parents), tracker.is_bw))
        out = model[1](hidden)
        out.register_hook(lambda g: log.append(("bw-out", sorted(tracker.parents), tracker.is_bw)))
        out.sum().backward()
        log.append(("after", sorted(tracker.parents), tracker.is_bw))
        model(x)
    return log, tracker


def test_module_tracker_follows_forward_and_backward():
    from gpugrad.utils.module_tracker import ModuleTracker

    log, tracker = _tracked(gg, ModuleTracker, _Block)
    # hidden's gradient: the hooks on it run in registration order, so the Linear that made it has been
    # entered, and the _Block (and its fc) that read it are left right after this test's own hook.
    assert log == [("fw", ["Global"], False), ("bw-out", ["Global", "_Block"], True),
                   ("bw-hidden", ["Global", "Linear", "_Block", "_Block.fc"], True), ("after", ["Global"], False)]
    assert tracker.parents == {"Global"} and not nn.module._global_forward_pre_hooks and not nn.module._global_forward_hooks
    inner = []
    with ModuleTracker() as tracker:
        probe = nn.Sequential(_Block())
        probe[0].register_forward_pre_hook(lambda m, a: inner.append(sorted(tracker.parents)))
        probe(gg.ones(1, 3))
        assert tracker.get_known_fqn(probe[0].fc) == "Sequential.0.fc"
    assert inner == [["Global", "Sequential", "Sequential.0"]]


@pytest.mark.torch
def test_module_tracker_matches_pytorchs():
    torch = pytest.importorskip("torch")
    from torch.utils.module_tracker import ModuleTracker as Theirs

    from gpugrad.utils.module_tracker import ModuleTracker

    class TorchBlock(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = torch.nn.Linear(3, 3)

        def forward(self, x):
            return self.fc(x).relu()

    TorchBlock.__name__ = "_Block"
    assert _tracked(gg, ModuleTracker, _Block)[0] == _tracked(torch, Theirs, TorchBlock)[0]


def test_copy_to_script_wrapper_leaves_a_method_as_it_is():
    from gpugrad._jit_internal import _copy_to_script_wrapper

    class Box(nn.Module):  # pyro's PyroModule decorates its container methods so
        @_copy_to_script_wrapper
        def __len__(self):
            return 3

    assert len(Box()) == 3 and Box.__len__.__name__ == "__len__"
