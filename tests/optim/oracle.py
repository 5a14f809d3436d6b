"""The optimizers' update rules written out by hand in float64 NumPy, from PyTorch's documented
algorithms, one parameter at a time; the tests' oracle (independent of gpugrad.kernels)."""
from __future__ import annotations

import math

import numpy as np


def sgd(p, g, st, *, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False):
    g = (-g if maximize else g) + weight_decay * p
    if momentum != 0:
        if "momentum_buffer" not in st:
            b = g.copy()
        else:
            b = momentum * st["momentum_buffer"] + (1 - dampening) * g
        st["momentum_buffer"] = b
        g = g + momentum * b if nesterov else b
    return p - lr * g


def adam(p, g, st, *, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, decoupled=False,
         maximize=False, decoupled_weight_decay=False):
    g = -g if maximize else g
    decoupled = decoupled or decoupled_weight_decay
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


def rmsprop(p, g, st, *, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
            maximize=False):
    st["step"] = st.get("step", 0) + 1
    g = (-g if maximize else g) + weight_decay * p
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


def adagrad(p, g, st, *, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10,
            maximize=False):
    t = st.get("step", 0) + 1
    st["step"] = t
    g = (-g if maximize else g) + weight_decay * p
    clr = lr / (1 + (t - 1) * lr_decay)
    s = st.get("sum", np.full_like(p, initial_accumulator_value)) + g * g
    st["sum"] = s
    return p - clr * g / (np.sqrt(s) + eps)


ORACLES = {"SGD": sgd, "Adam": adam, "AdamW": adamw, "RMSprop": rmsprop, "Adagrad": adagrad}


def _f32(x):
    """PyTorch keeps these scalars (NAdam's mu_product, ASGD's eta and mu) in float32 tensors."""
    return float(np.float32(x))


def _count(st):
    t = st.get("step", 0) + 1
    st["step"] = t
    return t


def adamax(p, g, st, *, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, maximize=False):
    b1, b2 = betas
    t = _count(st)
    g = (-g if maximize else g) + weight_decay * p
    m = b1 * st.get("exp_avg", 0.0) + (1 - b1) * g
    u = np.maximum(b2 * st.get("exp_inf", np.zeros_like(p)), np.abs(g) + eps)
    st["exp_avg"], st["exp_inf"] = m, u
    return p - lr / (1 - b1**t) * m / u


def adadelta(p, g, st, *, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False):
    _count(st)
    g = (-g if maximize else g) + weight_decay * p
    v = rho * st.get("square_avg", 0.0) + (1 - rho) * g * g
    a = st.get("acc_delta", np.zeros_like(p))
    delta = np.sqrt(a + eps) / np.sqrt(v + eps) * g
    st["square_avg"], st["acc_delta"] = v, rho * a + (1 - rho) * delta * delta
    return p - lr * delta


def nadam(p, g, st, *, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
          decoupled_weight_decay=False, maximize=False):
    b1, b2 = betas
    t = _count(st)
    g = -g if maximize else g
    if decoupled_weight_decay:
        p = p * (1 - lr * weight_decay)
    else:
        g = g + weight_decay * p
    mu = b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    prod = _f32(np.float32(st.get("mu_product", 1.0)) * np.float32(mu))
    st["mu_product"] = prod
    m = b1 * st.get("exp_avg", 0.0) + (1 - b1) * g
    v = b2 * st.get("exp_avg_sq", 0.0) + (1 - b2) * g * g
    st["exp_avg"], st["exp_avg_sq"] = m, v
    denom = np.sqrt(v / (1 - b2**t)) + eps
    return p - lr * (1 - mu) / (1 - prod) * g / denom - lr * mu_next / (1 - prod * mu_next) * m / denom


def radam(p, g, st, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled_weight_decay=False,
          maximize=False):
    b1, b2 = betas
    t = _count(st)
    g = -g if maximize else g
    if decoupled_weight_decay:
        p = p * (1 - lr * weight_decay)
    else:
        g = g + weight_decay * p
    m = b1 * st.get("exp_avg", 0.0) + (1 - b1) * g
    v = b2 * st.get("exp_avg_sq", 0.0) + (1 - b2) * g * g
    st["exp_avg"], st["exp_avg_sq"] = m, v
    m_hat = m / (1 - b1**t)
    rho_inf = 2 / (1 - b2) - 1
    rho_t = rho_inf - 2 * t * b2**t / (1 - b2**t)
    if rho_t <= 5:
        return p - lr * m_hat
    r = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
    return p - lr * m_hat * r * math.sqrt(1 - b2**t) / (np.sqrt(v) + eps)


def asgd(p, g, st, *, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0.0, maximize=False):
    t = _count(st)
    eta, mu = st.get("eta", _f32(lr)), st.get("mu", 1.0)
    g = (-g if maximize else g) + weight_decay * p
    p = p * (1 - lambd * eta) - eta * g
    ax = st.get("ax", np.zeros_like(p))
    st["ax"] = ax + mu * (p - ax) if mu != 1 else p.copy()
    st["eta"] = _f32(lr / (1 + lambd * lr * t) ** alpha)
    st["mu"] = _f32(1 / max(1, t - t0))
    return p


def rprop(p, g, st, *, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), maximize=False):
    _count(st)
    g = -g if maximize else g
    prev = st.get("prev", np.zeros_like(p))
    size = st.get("step_size", np.full_like(p, lr))
    prod = g * prev
    factor = np.where(prod > 0, etas[1], np.where(prod < 0, etas[0], 1.0))
    size = np.clip(size * factor, *step_sizes)
    g = np.where(prod < 0, 0.0, g)
    st["prev"], st["step_size"] = g, size
    return p - np.sign(g) * size


ORACLES.update(Adamax=adamax, Adadelta=adadelta, NAdam=nadam, RAdam=radam, ASGD=asgd, Rprop=rprop)


def adafactor(p, g, st, *, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, maximize=False):
    """PyTorch's documented Adafactor: factored (row, column) second moments over the last two dims."""
    t = _count(st)
    g = -g if maximize else g
    eps1 = np.finfo(np.float64).eps if eps[0] is None else eps[0]
    beta2 = 1 - t**beta2_decay
    alpha = max(eps[1], math.sqrt(np.mean(p * p))) * min(lr, 1 / math.sqrt(t))
    p = p - lr * weight_decay * p
    if np.ndim(p) > 1:
        R = beta2 * st.get("row_var", 0.0) + (1 - beta2) * np.mean(g * g, axis=-1, keepdims=True)
        C = beta2 * st.get("col_var", 0.0) + (1 - beta2) * np.mean(g * g, axis=-2, keepdims=True)
        st["row_var"], st["col_var"] = R, C
        V = R * C / np.maximum(np.mean(R, axis=-2, keepdims=True), eps1)
    else:
        V = beta2 * st.get("variance", 0.0) + (1 - beta2) * g * g
        st["variance"] = V
    U = g / np.maximum(np.sqrt(V), eps1)
    U = U / max(1.0, math.sqrt(np.mean(U * U)) / d)
    return p - alpha * U


ORACLES["Adafactor"] = adafactor


def cosine(base, eta_min, t, T):
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * t / T)) / 2
