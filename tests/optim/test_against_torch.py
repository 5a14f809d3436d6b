"""The optimizers against torch.optim given the same start and the same gradients."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg

from .helpers import grad, make, set_grads, starts, values
from .test_optimizers import CONFIGS, IDS

pytestmark = pytest.mark.torch


@pytest.mark.parametrize("dtype,rtol,atol", [(gg.float64, 1e-10, 1e-12), (gg.float32, 1e-4, 1e-5)], ids=["f64", "f32"])
@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
def test_matches_torch(name, kwargs, dtype, rtol, atol):
    torch = pytest.importorskip("torch")
    tdtype = torch.float64 if dtype is gg.float64 else torch.float32
    arrays = starts(5)
    skip = {1: {2}}  # a parameter without a gradient on one step: skipped by both
    tp = [torch.tensor(a, dtype=tdtype, requires_grad=True) for a in arrays]
    topt = getattr(torch.optim, name)(tp, **kwargs)
    params, opt = make(name, arrays, dtype=dtype, **kwargs)
    for t in range(6):
        for i, p in enumerate(tp):
            p.grad = None if i in skip.get(t, ()) else torch.tensor(grad(t, i, p.detach().numpy()), dtype=tdtype)
        topt.step()
        set_grads(params, t, dtype=dtype, skip=skip.get(t, ()))
        opt.step()
    for got, p in zip(values(params), tp):
        np.testing.assert_allclose(got, p.detach().numpy(), rtol=rtol, atol=atol)
    tstate = topt.state_dict()["state"]
    ours = opt.state_dict()["state"]
    assert tstate.keys() == ours.keys()
    for i in tstate:
        assert set(tstate[i]) == set(ours[i]), i
        for k, v in tstate[i].items():
            if k == "step":
                assert ours[i][k] == int(v.item())
            elif not isinstance(ours[i][k], gg.Tensor):  # scalar state: float32 in both
                assert ours[i][k] == v.item(), k
            else:
                np.testing.assert_allclose(ours[i][k].numpy(), v.numpy(), rtol=rtol, atol=atol, err_msg=k)
    tgroup = topt.state_dict()["param_groups"][0]
    for k, v in opt.state_dict()["param_groups"][0].items():
        assert tgroup[k] == (list(v) if isinstance(v, tuple) and isinstance(tgroup[k], list) else v), k
