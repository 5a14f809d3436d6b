"""Optimizers update parameters in place, as PyTorch's do: a ``p.detach()``, ``p.data``, ``state_dict()``
entry, NumPy view or slice taken before the optimizer was made sees every step. The flat buffers take a
group's memory over only when nothing else holds it (optim/flat.py: take_over)."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn, optim
from gpugrad.optim.flat import FlatGroup, InPlace

OPTIMIZERS = [
    ("SGD", dict(lr=0.5)),
    ("SGD", dict(lr=0.5, momentum=0.9)),
    ("Adam", dict(lr=0.5)),
    ("AdamW", dict(lr=0.5)),
    ("RMSprop", dict(lr=0.5)),
]
ALIASES = {
    "detach": lambda m: m.weight.detach(),
    "data": lambda m: m.weight.data,
    "state_dict": lambda m: m.state_dict()["weight"],
    "numpy": lambda m: m.weight.detach().numpy(),
    "slice": lambda m: m.weight.detach()[0, :2],
}


def _first(a) -> float:
    return float(np.asarray(a.detach().numpy() if isinstance(a, gg.Tensor) else a).reshape(-1)[0])


@pytest.mark.parametrize("alias", sorted(ALIASES))
@pytest.mark.parametrize("name,kwargs", OPTIMIZERS,
                         ids=[f"{n}{'-momentum' if 'momentum' in k else ''}" for n, k in OPTIMIZERS])
def test_an_alias_taken_before_the_optimizer_sees_each_step(name, kwargs, alias):
    m = nn.Linear(4, 3)
    held = ALIASES[alias](m)
    opt = getattr(optim, name)(m.parameters(), **kwargs)
    assert isinstance(opt._flat[0], InPlace)
    for _ in range(2):
        opt.zero_grad()
        m(gg.ones(2, 4)).square().sum().backward()
        opt.step()
        assert _first(held) == _first(m.weight) != 0.0


def test_without_aliases_the_group_takes_the_flat_buffers():
    m = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2))
    opt = optim.Adam(m.parameters(), lr=0.1)
    (group,) = opt._flat
    assert isinstance(group, FlatGroup)
    buffer = group.buckets[0].p
    assert all(p._array.base is buffer for p in m.parameters())
    m(gg.ones(2, 4)).sum().backward()
    opt.step()
    alias = m[0].weight.detach()  # taken after the optimizer was made: a view of the buffer already
    before = _first(alias)
    m(gg.ones(2, 4)).sum().backward()
    opt.step()
    assert _first(alias) == _first(m[0].weight) != before


def test_a_parameter_viewing_a_users_tensor_writes_into_it():
    w = gg.zeros(4, 3)
    p = nn.Parameter(w[:2])
    opt = optim.SGD([p], lr=1.0)
    p.sum().backward()
    opt.step()
    assert w[:2].tolist() == [[-1.0] * 3] * 2 and w[2:].tolist() == [[0.0] * 3] * 2


def test_data_replaced_by_a_tensor_the_caller_keeps_is_updated_there():
    m = nn.Linear(3, 1, bias=False)
    opt = optim.Adam(m.parameters(), lr=0.1)
    mine = gg.ones(1, 3)
    m.weight.data = mine
    m(gg.ones(1, 3)).sum().backward()
    opt.step()
    assert mine.tolist() == m.weight.tolist() and mine.tolist() != [[1.0] * 3]


@pytest.mark.torch
def test_aliases_follow_the_parameter_as_in_pytorch():
    torch = pytest.importorskip("torch")
    seen = {}
    for lib in (gg, torch):
        m = lib.nn.Linear(4, 1, bias=False)
        lib.nn.init.ones_(m.weight)
        held = [m.weight.detach(), m.state_dict()["weight"], m.weight.detach().numpy()]
        opt = lib.optim.AdamW(m.parameters(), lr=0.5)
        m.weight.sum().backward()
        opt.step()
        seen[lib.__name__] = [_first(h) for h in held] + [_first(m.weight.detach())]
    np.testing.assert_allclose(seen["gpugrad"], seen["torch"], rtol=1e-6)


def test_a_subclass_of_the_base_class_means_what_it_likes_by_lr():
    # transformers' Adafactor passes lr=None to Optimizer.__init__ and computes its own step size.
    class HalfStep(optim.Optimizer):
        def __init__(self, params, lr=None):
            super().__init__(params, dict(lr=lr))

        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    p.data.add_(p.grad, alpha=-0.5)

    p = nn.Parameter(gg.ones(2))
    opt = HalfStep([p])
    p.sum().backward()
    opt.step()
    assert p.tolist() == [0.5, 0.5]
    with pytest.raises(ValueError, match="invalid learning rate"):
        optim.Adam([p], lr=-1.0)  # gpugrad's own rules still check theirs
