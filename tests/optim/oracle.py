"""The optimizers' update rules written out by hand in float64 NumPy, from PyTorch's documented
algorithms, one parameter at a time; the tests' oracle (independent of gpugrad.kernels)."""
from __future__ import annotations

import math

import numpy as np


def sgd(p, g, st, *, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    g = g + weight_decay * p
    if momentum != 0:
        if "momentum_buffer" not in st:
            b = g.copy()
        else:
            b = momentum * st["momentum_buffer"] + (1 - dampening) * g
        st["momentum_buffer"] = b
        g = g + momentum * b if nesterov else b
    return p - lr * g


def adam(p, g, st, *, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, decoupled=False):
    b1, b2 = betas
    t = st.get("step", 0) + 1
    st["step"] = t
    if decoupled:
        p = p * (1 - lr * weight_decay)
    else:
        g = g + weight_decay * p
    m = b1 * st.get("exp_avg", 0.0) + (1 - b1) * g
    v = b2 * st.get("exp_avg_sq", 0.0) + (1 - b2) * g * g
    st["exp_avg"], st["exp_avg_sq"] = m, v
    if amsgrad:
        v = np.maximum(st.get("max_exp_avg_sq", 0.0), v)
        st["max_exp_avg_sq"] = v
    m_hat = m / (1 - b1**t)
    v_hat = v / (1 - b2**t)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps)


def adamw(p, g, st, *, weight_decay=1e-2, **kw):
    return adam(p, g, st, weight_decay=weight_decay, decoupled=True, **kw)


def rmsprop(p, g, st, *, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
    st["step"] = st.get("step", 0) + 1
    g = g + weight_decay * p
    s = alpha * st.get("square_avg", 0.0) + (1 - alpha) * g * g
    st["square_avg"] = s
    if centered:
        ga = alpha * st.get("grad_avg", 0.0) + (1 - alpha) * g
        st["grad_avg"] = ga
        s = s - ga * ga
    denom = np.sqrt(s) + eps
    if momentum > 0:
        b = momentum * st.get("momentum_buffer", 0.0) + g / denom
        st["momentum_buffer"] = b
        return p - lr * b
    return p - lr * g / denom


def adagrad(p, g, st, *, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10):
    t = st.get("step", 0) + 1
    st["step"] = t
    g = g + weight_decay * p
    clr = lr / (1 + (t - 1) * lr_decay)
    s = st.get("sum", np.full_like(p, initial_accumulator_value)) + g * g
    st["sum"] = s
    return p - clr * g / (np.sqrt(s) + eps)


ORACLES = {"SGD": sgd, "Adam": adam, "AdamW": adamw, "RMSprop": rmsprop, "Adagrad": adagrad}


def cosine(base, eta_min, t, T):
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * t / T)) / 2
