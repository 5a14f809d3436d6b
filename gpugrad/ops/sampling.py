"""Random sampling from gpugrad's generators: normal, bernoulli, multinomial, poisson, binomial and the in-place
fills.

Every draw comes from a ``gpugrad.Generator`` (the default one unless ``generator=`` is given): its
Mersenne Twister on the host, copied to the tensor's device, so one seed gives the same numbers on every
device (gpugrad/random.py); normal, uniform and integer draws are PyTorch's CPU numbers (gpugrad/mt19937.py). Draws that depend on the input's values (poisson's rates, multinomial's weights) read
them on the host for that reason.

Gradients follow PyTorch: ``normal(mean, std)``, ``bernoulli``, ``poisson`` and the in-place fills of a
tensor in a graph are recorded with a zero gradient for every input (PyTorch does not reparameterise
them: ``normal(mean, std)`` is not ``mean + std * eps`` to autograd), so their results require grad when
an input does; ``multinomial`` returns indices, outside any graph; ``binomial`` is in the graph and its
backward raises (PyTorch's has no derivative formula).
"""
from __future__ import annotations

import numpy

from .. import _gamma, dtypes, layouts
from ..factory import check_pin_memory
from ..autograd.function import Op
from ..dtypes import FLOAT_KINDS
from ..errors import ArgumentError, DTypeError, ShapeError
from ..mt19937 import Stream, in_memory_order
from ..random import default_generator
from ..tensor import Tensor
from . import inplace
from ._operands import write_out


def _rng(generator) -> numpy.random.Generator:
    return (generator if generator is not None else default_generator).rng


def _stream(generator) -> Stream:
    return (generator if generator is not None else default_generator).stream


def _fill_strides(x: Tensor) -> tuple | None:
    """None for a contiguous tensor, else its strides: a draw fills a strided tensor in memory order."""
    return None if x.is_contiguous() else x.stride()


def _host(t: Tensor) -> numpy.ndarray:
    return t._backend.to_numpy(t._array)


def _require_float(op: str, t: Tensor, what: str = "tensor") -> None:
    if t._array.dtype.kind not in FLOAT_KINDS:
        raise DTypeError(f"{op}: expected a floating point {what}, got {t.dtype}")


def _require(op: str, ok: bool, message: str) -> None:
    if not ok:
        raise ArgumentError(f"{op}: {message}")


class Sampled(Op):
    """A random draw made from its inputs' values (or only their shape). Autograd sees a zero gradient
    for every input, as PyTorch's NormalBackward, BernoulliBackward, PoissonBackward and the fills' nodes."""

    @staticmethod
    def forward(ctx, *arrays, draw=None):
        ctx.input_shapes_dtypes = [(a.shape, a.dtype) for a in arrays]
        return draw(ctx.backend, *arrays)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        return tuple(
            Tensor._make(xp.zeros(shape, dtype=dtype), ctx.backend) if need else None
            for (shape, dtype), need in zip(ctx.input_shapes_dtypes, ctx.needs_input_grad)
        )


_SAMPLERS: dict = {}


def _sampler(op: str) -> type:
    """Sampled under the user's op name, for error messages and ``grad_fn`` (``<NormalBackward>``)."""
    cls = _SAMPLERS.get(op)
    if cls is None:
        title = "".join(part.title() for part in op.split("_"))
        cls = _SAMPLERS[op] = type(title, (Sampled,), {"name": op})
    return cls


def _on_device(backend, host: numpy.ndarray, np_dtype):
    return backend.asarray(numpy.asarray(host).astype(np_dtype, copy=False))


# normal -------------------------------------------------------------------------------------------------
def _check_std(op: str, std) -> None:
    if isinstance(std, Tensor):
        _require(op, bool((_host(std) >= 0).all()), "expects all elements of std >= 0.0")
    else:
        _require(op, std >= 0, f"expects std >= 0.0, but found std {std}")


def _broadcast_shape(op: str, *tensors) -> tuple:
    shapes = [tuple(t.shape) for t in tensors]
    try:
        return numpy.broadcast_shapes(*shapes)
    except ValueError:
        raise ShapeError(f"{op}: the shapes of mean and std do not broadcast: {' and '.join(map(str, shapes))}") from None


def normal(mean, std=1.0, size=None, *, generator=None, out=None, dtype=None, device=None,
           requires_grad: bool = False, layout=None, pin_memory: bool = False) -> Tensor:
    """Samples from N(mean, std^2), elementwise over tensor ``mean`` and/or ``std`` (broadcast), or of
    ``size`` for float mean and std. The result has mean's dtype (std's when mean is a number).
    d/dmean = d/dstd = 0, as in PyTorch: the draw is not reparameterised. ``layout`` (strided) and
    ``pin_memory`` are the factories' options, checked as theirs."""
    if layout is not None:
        layouts.check_layout("normal", layout)
    if pin_memory:
        check_pin_memory("normal", pin_memory)
    tensors = [v for v in (mean, std) if isinstance(v, Tensor)]
    if not tensors:
        if size is None:
            raise TypeError("normal: with a number for both mean and std, give the output's size")
        _check_std("normal", std)
        target = dtypes.to_dtype(dtype) if dtype is not None else dtypes.default_float
        if not target.is_floating_point:
            raise DTypeError(f"normal: expected a floating point dtype, got {target.name}")
        from ..factory import tensor

        draws = _stream(generator).normal(_as_shape(size), float(mean), float(std), target.np)
        result = tensor(draws, dtype=target, device=device, requires_grad=requires_grad)
        return write_out("normal", result, out)
    if size is not None or dtype is not None or device is not None:
        raise TypeError("normal: size, dtype and device are for a number mean and std; "
                        "with a tensor mean or std the result takes their shape, dtype and device")
    first = mean if isinstance(mean, Tensor) else std
    for t in tensors:
        _require_float("normal", t, "mean and std")
    _check_std("normal", std)
    shape = _broadcast_shape("normal", *tensors)
    np_dtype = first._array.dtype
    stream = _stream(generator)

    def draw(backend, *arrays):  # PyTorch's order: standard normals, times std, plus mean
        values = iter(arrays)
        m = next(values).astype(np_dtype, copy=False) if isinstance(mean, Tensor) else mean
        s = next(values).astype(np_dtype, copy=False) if isinstance(std, Tensor) else std
        return _on_device(backend, stream.normal(shape, 0.0, 1.0, np_dtype), np_dtype) * s + m

    return write_out("normal", _sampler("normal").apply(*tensors, draw=draw), out)


def _as_shape(size) -> tuple:
    size = (size,) if isinstance(size, int) else tuple(int(s) for s in size)
    if any(s < 0 for s in size):
        raise ShapeError(f"normal: negative dimension in size {size}")
    return size


# bernoulli ----------------------------------------------------------------------------------------------
def _check_probability(op: str, p) -> None:
    if isinstance(p, Tensor):
        _require_float(op, p, "tensor of probabilities")
        host = _host(p)
        _require(op, bool(((host >= 0) & (host <= 1)).all()), "expects every probability in [0, 1]")
    else:
        _require(op, 0 <= p <= 1, f"expects p to be in [0, 1], but got p={p}")


def _bernoulli_draw(op: str, x: Tensor, p, generator) -> Tensor:
    """0/1 in x's shape and dtype, 1 with probability p (a number, or a tensor broadcast to x's shape)."""
    _check_probability(op, p)
    shape, np_dtype, stream = tuple(x.shape), x._array.dtype, _stream(generator)
    n = int(numpy.prod(shape, dtype=numpy.int64))

    def uniforms(backend, dtype):  # PyTorch's: in the probabilities' dtype, float64 for a number
        return backend.asarray(stream.uniform(n, 0.0, 1.0, dtype).reshape(shape))

    if isinstance(p, Tensor):
        if numpy.broadcast_shapes(tuple(p.shape), shape) != shape:
            raise ShapeError(f"{op}: probabilities of shape {tuple(p.shape)} do not broadcast to {shape}")
        return _sampler(op).apply(x, p, draw=lambda backend, _, pa: (uniforms(backend, pa.dtype) < pa).astype(np_dtype))
    return _sampler(op).apply(x, draw=lambda backend, _: (uniforms(backend, numpy.float64) < p).astype(np_dtype))


def bernoulli(input: Tensor, p=None, *, generator=None, out=None) -> Tensor:
    """0 or 1 per element, 1 with probability ``input`` (float, in [0, 1]) or, given ``p``, with
    probability p, in input's shape and dtype. Zero gradient, as in PyTorch."""
    if p is None:
        _require_float("bernoulli", input, "tensor of probabilities")
        result = _bernoulli_draw("bernoulli", input, input, generator)
    else:
        result = _bernoulli_draw("bernoulli", input, p, generator)
    return write_out("bernoulli", result, out)


# multinomial --------------------------------------------------------------------------------------------
def _check_weights(op: str, input: Tensor, num_samples: int, replacement: bool) -> None:
    if input.ndim not in (1, 2):
        raise ShapeError(f"{op}: prob_dist must be 1 or 2 dim, got shape {tuple(input.shape)}")
    _require_float(op, input, "tensor of weights")
    _require(op, num_samples > 0, f"cannot sample n_sample <= 0 samples (got {num_samples})")
    n = input.shape[-1]
    _require(op, replacement or num_samples <= n,
             f"cannot sample n_sample > prob_dist.size(-1) samples without replacement ({num_samples} > {n})")
    weights = _host(input).astype(numpy.float64).reshape(-1, n)
    _require(op, bool(numpy.isfinite(weights).all() and (weights >= 0).all()),
             "probability tensor contains either `inf`, `nan` or element < 0")
    _require(op, bool((weights.sum(axis=1) > 0).all()), "invalid multinomial distribution (sum of probabilities <= 0)")


# Short rows are searched by counting, this many comparisons at a time (a few tens of MB).
_COUNT_CHUNK = 1 << 22


def _first_reaching(cdf: numpy.ndarray, u: numpy.ndarray) -> numpy.ndarray:
    """Per row, the index of the first cumulative weight (a non-decreasing row of ``cdf``) that reaches each
    draw of the same row of ``u``: numpy's searchsorted(side='left'), which is the count of cumulative weights
    below the draw. Counted for many rows at once where rows are short (a Python loop over millions of rows
    took minutes); searched row by row where one row's comparisons alone would be many."""
    rows, n = cdf.shape
    m = u.shape[1]
    if n * m > _COUNT_CHUNK:
        return numpy.array([numpy.searchsorted(row.astype(numpy.float64), draws, side="left")
                            for row, draws in zip(cdf, u)], numpy.int64).reshape(rows, m)
    picks = numpy.empty((rows, m), numpy.int64)
    step = _COUNT_CHUNK // (n * m)
    for start in range(0, rows, step):
        block = cdf[start:start + step].astype(numpy.float64)
        picks[start:start + step] = (block[:, None, :] < u[start:start + step, :, None]).sum(axis=2)
    return picks


def _with_replacement(stream: Stream, weights: numpy.ndarray, num_samples: int) -> numpy.ndarray:
    """PyTorch's CPU draw: per row, the cumulative weights in their dtype divided by their total (the last
    set to 1), and for each sample the first category whose cumulative weight reaches a float64 uniform."""
    cdf = numpy.cumsum(weights, axis=1, dtype=weights.dtype)
    cdf /= cdf[:, -1:]
    cdf[:, -1] = 1
    u = stream.uniform(weights.shape[0] * num_samples, 0.0, 1.0, numpy.float64).reshape(weights.shape[0], num_samples)
    picks = _first_reaching(cdf, u)
    # A zero-weight category is never drawn: not at u = 0, nor past a last cumulative weight that rounded
    # below 1 (PyTorch can return either; the chance is 2^-53, and about 2^-24 per draw, respectively).
    positive = weights > 0
    first_positive = numpy.argmax(positive, axis=1)
    last_positive = weights.shape[1] - 1 - numpy.argmax(positive[:, ::-1], axis=1)
    return numpy.clip(picks, first_positive[:, None], last_positive[:, None])


def _without_replacement(stream: Stream, weights: numpy.ndarray, num_samples: int) -> numpy.ndarray:
    # Exponential race (PyTorch's method, with its draws): category i arrives at E_i / w_i; the first
    # num_samples to arrive are a draw without replacement. Zero weights never arrive: they come last.
    keys = weights / stream.exponential(weights.size, 1.0).astype(weights.dtype).reshape(weights.shape)
    if num_samples == 1:
        return numpy.argmax(keys, axis=1)[:, None]
    return numpy.argsort(-keys, axis=1, kind="stable")[:, :num_samples]


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *, generator=None, out=None) -> Tensor:
    """``num_samples`` category indices per row of ``input`` (1-D or 2-D non-negative weights, not
    necessarily normalised), drawn with or without replacement; int64, outside any graph."""
    _check_weights("multinomial", input, num_samples, replacement)
    host = _host(input).reshape(-1, input.shape[-1])
    weights = host if host.dtype.itemsize >= 4 else host.astype(numpy.float32)  # the draw's dtype, as PyTorch's
    # One sample per row is the race with or without replacement: PyTorch draws it so either way.
    draw = _with_replacement if replacement and num_samples > 1 else _without_replacement
    picks = draw(_stream(generator), weights, num_samples).reshape(tuple(input.shape[:-1]) + (num_samples,))
    result = Tensor._make(_on_device(input._backend, picks, numpy.int64), input._backend)
    return write_out("multinomial", result, out)


# poisson ------------------------------------------------------------------------------------------------
def poisson(input: Tensor, generator=None) -> Tensor:
    """Poisson counts with rates ``input`` (float, non-negative), in input's dtype. Zero gradient."""
    _require_float("poisson", input, "tensor of rates")
    rates = _host(input)
    _require("poisson", bool((rates >= 0).all()), "invalid Poisson rate, expected rate to be non-negative")
    counts = _rng(generator).poisson(rates.astype(numpy.float64))
    return _sampler("poisson").apply(input, draw=lambda backend, x: _on_device(backend, counts, x.dtype))


# binomial -----------------------------------------------------------------------------------------------
class Binomial(Op):
    """Binomial draws; in the graph when an input requires grad, as PyTorch's (whose node has no formula):
    backward raises."""

    name = "binomial"

    @staticmethod
    def forward(ctx, count, prob, draws=None):
        return draws

    @staticmethod
    def backward(ctx, gy):
        raise RuntimeError("derivative for aten::binomial is not implemented (in PyTorch either: a binomial draw "
                           "is not reparameterised)")


def _binomial_draws(rng, count: numpy.ndarray, prob: numpy.ndarray) -> numpy.ndarray:
    """PyTorch's sample_binomial case by case, in float64: 0 where count <= 0 or prob <= 0, count where
    prob >= 1, NaN where prob is NaN; else Binomial(floor(count), prob) for prob <= 0.5 and count minus
    Binomial(floor(count), 1 - prob) above (so a fractional count keeps its fraction there, as PyTorch's
    does). A NaN or infinite count gives NaN or inf (PyTorch loops forever on a NaN count)."""
    out = numpy.full(count.shape, numpy.nan)
    zero = (count <= 0) | (prob <= 0)
    out[zero] = 0.0
    full = ~zero & (prob >= 1)
    out[full] = count[full]
    draw = ~zero & ~full & ~numpy.isnan(prob)  # 0 < prob < 1
    odd = draw & ~numpy.isfinite(count)
    out[odd] = count[odd]  # inf stays inf, NaN stays NaN
    draw &= numpy.isfinite(count)
    low = draw & (prob <= 0.5)
    high = draw & ~low
    # One call of the generator for every element drawn, in index order.
    q = numpy.where(high, 1.0 - prob, prob)
    k = rng.binomial(numpy.floor(count[draw]).astype(numpy.int64), q[draw]).astype(numpy.float64)
    out[draw] = numpy.where(high[draw], count[draw] - k, k)
    return out


def binomial(count: Tensor, prob: Tensor, generator=None) -> Tensor:
    """Draws from Binomial(count, prob), elementwise (count and prob broadcast), in count's dtype (float32
    or float64; prob's must match). Edge cases as PyTorch's: 0 where count <= 0 or prob <= 0, count where
    prob >= 1. In the graph when an input requires grad, and backward raises, as PyTorch's."""
    op = "binomial"
    if not isinstance(count, Tensor) or not isinstance(prob, Tensor):
        bad = "count" if not isinstance(count, Tensor) else "prob"
        raise TypeError(f"binomial(): argument '{bad}' must be Tensor, not {type(count if bad == 'count' else prob).__name__}")
    if count._array.dtype.kind not in FLOAT_KINDS:
        raise ArgumentError(f"binomial only supports floating-point dtypes for count, got: {count.dtype}")
    if count._array.dtype.name not in ("float32", "float64"):
        raise DTypeError(f'"binomial" not implemented for {count.dtype} tensors (as in PyTorch on the CPU: float32 '
                         "and float64)")
    if prob._array.dtype != count._array.dtype:
        raise DTypeError(f"binomial: Found dtype {prob.dtype} but expected {count.dtype} (prob's dtype must be count's)")
    try:
        shape = numpy.broadcast_shapes(tuple(count.shape), tuple(prob.shape))
    except ValueError:
        raise ShapeError(f"{op}: the shapes of count {tuple(count.shape)} and prob {tuple(prob.shape)} do not "
                         "broadcast") from None
    c = numpy.broadcast_to(_host(count).astype(numpy.float64), shape)
    p = numpy.broadcast_to(_host(prob).astype(numpy.float64), shape)
    draws = _binomial_draws(_rng(generator), c, p)
    np_dtype = count._array.dtype
    return Binomial.apply(count, prob, draws=_on_device(count._backend, draws, np_dtype))


class StandardGamma(Op):
    """Gamma(a, 1) draws, reparameterised: d draw / d a holds the draw's CDF level fixed (implicit
    reparameterisation, as PyTorch's ``_standard_gamma``); that derivative is a constant of the draw, so
    the second derivative is 0 here (PyTorch has none)."""

    name = "standard_gamma"

    @staticmethod
    def forward(ctx, alpha, draws=None):
        ctx.save_for_backward(alpha, draws)
        return draws

    @staticmethod
    def backward(ctx, gy):
        alpha, draws = ctx.saved_tensors
        slope = _gamma.standard_gamma_grad(ctx.xp, alpha._array, draws._array)
        return gy * Tensor._make(slope, ctx.backend)


def standard_gamma(concentration: Tensor, generator=None) -> Tensor:
    """Gamma(concentration, 1) draws in concentration's shape and dtype (float, positive), differentiable
    in the concentration (see StandardGamma): what the gamma-family distributions sample from."""
    _require_float("standard_gamma", concentration, "tensor of concentrations")
    alpha = _host(concentration)
    _require("standard_gamma", bool((alpha > 0).all()), "expected every concentration to be positive")
    # numpy.asarray: NumPy returns a Python float for a 0-d concentration (Gamma(2.0, 1.0).sample())
    draws = numpy.asarray(_rng(generator).standard_gamma(alpha.astype(numpy.float64)))
    tiny = numpy.finfo(concentration._array.dtype).tiny  # a draw that rounds to 0 in the dtype: its smallest normal, as PyTorch
    draws = numpy.maximum(draws.astype(concentration._array.dtype), tiny)
    return StandardGamma.apply(concentration, draws=_on_device(concentration._backend, draws, concentration._array.dtype))


def _standard_gamma(input: Tensor, generator=None) -> Tensor:
    """PyTorch's ``torch._standard_gamma``: Gamma(input, 1) draws, differentiable in ``input`` (standard_gamma)."""
    return standard_gamma(input, generator=generator)


def _standard_gamma_grad(input: Tensor, output: Tensor) -> Tensor:
    """PyTorch's ``torch._standard_gamma_grad``: d output / d input of Gamma(input, 1) draws ``output`` at a
    fixed CDF level (what _standard_gamma's backward multiplies the incoming gradient by); not differentiable."""
    _require_float("_standard_gamma_grad", input, "tensor of concentrations")
    if input.dtype != output.dtype:
        raise DTypeError(f"_standard_gamma_grad: expected self and output of one dtype, got {input.dtype} and {output.dtype}")
    if tuple(input.shape) != tuple(output.shape):
        raise ShapeError(f"_standard_gamma_grad: expected self and output of one shape, got {tuple(input.shape)} and "
                         f"{tuple(output.shape)}")
    return Tensor._make(_gamma.standard_gamma_grad(input._backend.xp, input._array, output._array), input._backend)


# randint_like -------------------------------------------------------------------------------------------
def randint_like(input: Tensor, low: int = 0, high: int | None = None, *, dtype=None, device=None,
                 requires_grad: bool = False, generator=None) -> Tensor:
    """Integers uniform in [low, high) in input's shape (and dtype, unless given): ``randint_like(x, 10)``
    or ``randint_like(x, 3, 10)``."""
    if high is None:
        low, high = 0, low
    _require("randint_like", low < high, f"expects 'low' to be less than 'high', but got low={low} >= high={high}")
    target = dtypes.to_dtype(dtype) if dtype is not None else input.dtype
    dtypes.check_integer_range("randint_like", low, high - 1, target)
    from ..factory import tensor

    draws = _stream(generator).integers(low, high, input.numel()).reshape(tuple(input.shape))
    return tensor(draws, dtype=target, device=device if device is not None else input.device, requires_grad=requires_grad)


# In-place fills -----------------------------------------------------------------------------------------
# Each is an out-of-place draw in x's shape and dtype, made in place by inplace.inplace_variant (which
# refuses a leaf that requires grad and records the fill in a graph, as PyTorch does).
def _fill(op: str, x: Tensor, host_draw) -> Tensor:
    shape = tuple(x.shape)
    if x.device.type == "meta":  # no values to draw, and the stream stays where it was, as in PyTorch
        return _sampler(op).apply(x, draw=lambda backend, a: a.copy())
    return _sampler(op).apply(x, draw=lambda backend, a: _on_device(backend, host_draw(shape), a.dtype))


def _complex_parts(host_draw):
    """A complex tensor's draw as PyTorch makes it (on the tensor viewed as real): its real and imaginary
    parts drawn independently, each by ``host_draw`` (of shape + (2,))."""
    def draw(shape):
        parts = host_draw(shape + (2,))
        return parts[..., 0] + 1j * parts[..., 1]
    return draw


def _uniform(x: Tensor, from_: float = 0.0, to: float = 1.0, *, generator=None) -> Tensor:
    """Fill with U[from, to); a complex tensor's real and imaginary parts each (as PyTorch's)."""
    if x._array.dtype.kind != "c":
        _require_float("uniform_", x)
    _require("uniform_", from_ <= to, f"expects to return a [from, to) range, but found from={from_} > to={to}")
    np_dtype = x._array.dtype if x._array.dtype.kind != "c" else x._array.real.dtype
    strides = _fill_strides(x) if x._array.dtype.kind != "c" else None

    def draw(shape):
        return in_memory_order(_stream(generator).uniform(numpy.prod(shape, dtype=int), from_, to, np_dtype), shape,
                               strides)

    return _fill("uniform_", x, _complex_parts(draw) if x._array.dtype.kind == "c" else draw)


def _normal(x: Tensor, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    """Fill with N(mean, std^2); a complex tensor's real and imaginary parts each N(mean, std^2 / 2), so
    that E|z - mean(1 + i)|^2 = std^2 (PyTorch's rule)."""
    if x._array.dtype.kind != "c":
        _require_float("normal_", x)
    _check_std("normal_", std)
    if x._array.dtype.kind == "c":
        part = x._array.real.dtype
        return _fill("normal_", x, _complex_parts(lambda shape: _stream(generator).normal(shape, mean, std * 0.5 ** 0.5, part)))
    strides = _fill_strides(x)
    return _fill("normal_", x, lambda shape: _stream(generator).normal(shape, mean, std, x._array.dtype, strides))


def _bernoulli(x: Tensor, p=0.5, *, generator=None) -> Tensor:
    return _bernoulli_draw("bernoulli_", x, p, generator)


def _exponential(x: Tensor, lambd: float = 1.0, *, generator=None) -> Tensor:
    _require_float("exponential_", x)
    _require("exponential_", lambd > 0, f"expects lambda > 0.0, but found lambda={lambd}")
    return _fill("exponential_", x, lambda shape: _stream(generator).exponential(
        int(numpy.prod(shape, dtype=numpy.int64)), lambd).reshape(shape))


def _geometric(x: Tensor, p: float, *, generator=None) -> Tensor:
    _require("geometric_", 0 < p < 1, f"expects p to be in (0, 1), but got p={p}")
    return _fill("geometric_", x, lambda shape: _rng(generator).geometric(p, shape))


def _log_normal(x: Tensor, mean: float = 1.0, std: float = 2.0, *, generator=None) -> Tensor:
    _require_float("log_normal_", x)
    _require("log_normal_", std > 0, f"expects std > 0.0, but found std={std}")
    return _fill("log_normal_", x, lambda shape: _rng(generator).lognormal(mean, std, shape))


def _cauchy(x: Tensor, median: float = 0.0, sigma: float = 1.0, *, generator=None) -> Tensor:
    _require_float("cauchy_", x)
    _require("cauchy_", sigma > 0, f"expects sigma > 0.0, but found sigma={sigma}")
    return _fill("cauchy_", x, lambda shape: median + sigma * _rng(generator).standard_cauchy(shape))


def _random(x: Tensor, *bounds, to=None, generator=None) -> Tensor:
    """``random_()``: integers in [0, the dtype's top]; ``random_(to)``: in [0, to); ``random_(from, to)``:
    in [from, to) (to=None: up to the dtype's top: 2^24 for float32, the maximum for an integer type)."""
    if len(bounds) > 2 or (to is not None and len(bounds) > 1):
        raise TypeError("random_: takes from and to, at most")
    if to is not None:
        bounds = (bounds[0] if bounds else 0, to)
    elif len(bounds) == 1:
        bounds = (0,) + bounds
    low, high = (int(bounds[0]), bounds[1]) if bounds else (0, None)
    last = dtypes.integer_range(x.dtype)[1] if high is None else int(high) - 1
    _require("random_", high is None or low < high, f"expects 'from' to be less than 'to', but got from={low} >= to={high}")
    dtypes.check_integer_range("random_", low, last, x.dtype)
    strides = _fill_strides(x)
    return _fill("random_", x, lambda shape: in_memory_order(
        _stream(generator).integers(low, last + 1, numpy.prod(shape, dtype=int)), shape, strides))


def _inplace(fn, name: str):
    method = inplace.inplace_variant(fn, name)
    method.__doc__ = fn.__doc__ or f"Fill self in place: ``{name}``."
    return method


# What this family exports; gpugrad.ops gathers it.
FUNCTIONS = (normal, bernoulli, multinomial, poisson, binomial, randint_like, _standard_gamma, _standard_gamma_grad)
DIFFERENTIABLE = ()  # zero gradients by definition: there is nothing for gradcheck to compare
METHODS = {
    "bernoulli": bernoulli,
    "multinomial": multinomial,
    "uniform_": _inplace(_uniform, "uniform_"),
    "normal_": _inplace(_normal, "normal_"),
    "bernoulli_": _inplace(_bernoulli, "bernoulli_"),
    "exponential_": _inplace(_exponential, "exponential_"),
    "random_": _inplace(_random, "random_"),
    "geometric_": _inplace(_geometric, "geometric_"),
    "log_normal_": _inplace(_log_normal, "log_normal_"),
    "cauchy_": _inplace(_cauchy, "cauchy_"),
}
