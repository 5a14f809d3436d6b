"""Functions that make tensors: ``tensor``, ``zeros``, ``randn``, ``from_numpy`` and the rest."""
from __future__ import annotations

import functools
import inspect
import math

import numpy

from . import backend as _backend_mod
from . import default_device, dtypes, layouts
from .dtypes import FLOAT_KINDS
from .errors import ArgumentError, DTypeError, ShapeError
from .overrides import make_overridable as _make_overridable
from .overrides import takes_calls
from .random import default_generator
from .tensor import Tensor


def _backend_of(device) -> _backend_mod.Backend:
    """The backend a factory makes its tensor on: ``device``, or ``gg.set_default_device``'s."""
    return _backend_mod.get(default_device.current if device is None else device)


def _finish(array, backend, requires_grad: bool) -> Tensor:
    t = Tensor._make(array, backend)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _sizes_or_keyword(op: str, sizes: tuple, size) -> tuple:
    """The shape given as ``f(2, 3)``, ``f((2, 3))`` or, as PyTorch also allows, ``f(size=(2, 3))``."""
    if size is None:
        return sizes
    if sizes:
        raise TypeError(f"{op}: got the size both as arguments {sizes} and as size={size}")
    return (size,)


def _size(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    size = tuple(int(s) for s in size)
    if any(s < 0 for s in size):
        raise ShapeError(f"cannot create a tensor of size {size}: negative dimension {min(size)}")
    return size


def _dtype_np(dtype, default=None):
    if dtype is None:
        dtype = default if default is not None else dtypes.default_float
    return dtypes.to_dtype(dtype).np


def check_pin_memory(op: str, pin_memory: bool) -> None:
    """PyTorch's ``pin_memory=``: page-locked host memory for faster copies to a GPU. gpugrad's host arrays
    are NumPy's, pinned or not, so it is a hint; without a GPU, True is refused as PyTorch refuses it."""
    if pin_memory and _backend_mod.cuda_unavailable_reason() is not None:
        raise RuntimeError(f"{op}: pinned memory needs a CUDA device; none is available")


def _writes_out(factory):
    """PyTorch's ``out=`` on a factory: the values are made in ``out``'s dtype and on its device (unless
    given), then written into ``out`` (resized as PyTorch resizes), which is returned. PyTorch's other
    tensor options, ``layout`` (strided only) and ``pin_memory``, are checked here too."""
    takes_dtype = "dtype" in inspect.signature(factory).parameters

    @functools.wraps(factory)
    def made(*args, out=None, layout=None, pin_memory: bool = False, **kwargs):
        if layout is not None:
            layouts.check_layout(factory.__name__, layout)
        if pin_memory:
            check_pin_memory(factory.__name__, pin_memory)
        if out is None:
            return factory(*args, **kwargs)
        if not isinstance(out, Tensor):
            raise TypeError(f"{factory.__name__}: argument 'out' must be a Tensor, not {type(out).__name__}")
        if takes_dtype and kwargs.get("dtype") is None:
            kwargs["dtype"] = out.dtype
        if kwargs.get("device") is None:
            kwargs["device"] = out.device
        from .ops._operands import write_out

        return write_out(factory.__name__, factory(*args, **kwargs), out)

    return made


def _infer_host(data) -> tuple[numpy.ndarray, bool]:
    """``data`` as a NumPy array with the dtype PyTorch infers, and whether it came from Python values
    (lists, numbers) rather than an array that already has a dtype."""
    if isinstance(data, Tensor):
        return data._backend.to_numpy(data._array), False
    if isinstance(data, (str, bytes)):
        raise DTypeError(f"tensor: strings are not supported, got {data!r:.40}")
    if takes_calls(type(data)):  # the public function called hands it the call (overrides.py)
        raise TypeError(f"tensor: a {type(data).__name__} is not data; it defines __torch_function__")
    typed = isinstance(data, (numpy.ndarray, numpy.generic))
    try:
        host = numpy.asarray(data)
    except ValueError as exc:  # ragged nested lists
        raise ShapeError(f"tensor: nested sequences must be rectangular (every list at one depth of the same "
                         f"length): {exc}") from None
    kind = host.dtype.kind
    if kind in "USa":
        raise DTypeError(f"tensor: strings are not supported, got data of NumPy dtype {host.dtype}")
    if kind == "O" or kind == "V" and dtypes.of_numpy_dtype(host.dtype) is not dtypes.bfloat16:
        raise DTypeError(f"tensor: could not infer a dtype from {type(data).__name__} data: expected numbers, "
                         "nested lists of numbers, a NumPy array or a Tensor")
    return host, not typed


def _leaves(data):
    """The non-list elements of nested lists, depth first."""
    for item in data:
        if type(item) is list or type(item) is tuple:
            yield from _leaves(item)
        else:
            yield item


def _list_dtype(data) -> dtypes.DType | None:
    """For nested lists holding Tensors or NumPy values: PyTorch's inference, each element's dtype promoted
    with the others' (``[0.5, tensor(2., dtype=float64)]`` is float64; ``[f16, f16]`` tensors stay float16,
    Python floats counting as the default dtype). None where every element is a Python number (NumPy's
    array already says what PyTorch infers). One pass of type checks per element."""
    python_kinds, typed, stack = set(), [], [data]
    while stack:
        for item in stack.pop():
            kind = type(item)
            if kind is float or kind is int:  # the common leaves: recorded once per list below
                continue
            if kind is bool or kind is complex:
                python_kinds.add(kind)
            elif kind is list or kind is tuple:
                stack.append(item)
            elif isinstance(item, Tensor):
                typed.append(item.dtype)
            elif isinstance(item, (numpy.ndarray, numpy.generic)):
                typed.append(dtypes.of_array_checked(numpy.asarray(item), "tensor"))
            elif isinstance(item, (bool, int, float, complex)):  # their subclasses
                python_kinds.add(float if isinstance(item, float) else complex if isinstance(item, complex)
                                 else bool if isinstance(item, bool) else int)
    if not typed:
        return None
    python_kinds.update(type(item) for item in _leaves(data) if type(item) is float or type(item) is int)
    python = {bool: dtypes.bool_, int: dtypes.int64, float: dtypes.default_float, complex: dtypes.default_complex()}
    found = typed[0]
    for dtype in typed[1:] + [python[kind] for kind in python_kinds]:
        found = dtypes.promote_types(found, dtype)
    return found


def _holds_tensor(data) -> bool:
    """Whether nested lists hold a Tensor anywhere (one type check per element)."""
    stack = [data]
    while stack:
        for item in stack.pop():
            kind = type(item)
            if kind is float or kind is int:
                continue
            if kind is list or kind is tuple:
                stack.append(item)
            elif isinstance(item, Tensor):
                return True
    return False


def _tensors_as_numbers(data) -> list:
    """Nested lists with each Tensor in them read as one number, as PyTorch reads them (its ``item()``, kept
    as a 0-d array of its dtype): ``[tensor([1.]), tensor([2.])]`` has shape (2,), not (2, 1); a tensor of
    more than one element there is refused with PyTorch's error."""
    out = []
    for item in data:
        if type(item) is list or type(item) is tuple:
            out.append(_tensors_as_numbers(item))
        elif isinstance(item, Tensor):
            if item.numel() != 1:
                raise ValueError("only one element tensors can be converted to Python scalars")
            out.append(item._backend.to_numpy(item._array).reshape(()))
        else:
            out.append(item)
    return out


def _check_fits(host: numpy.ndarray, target: dtypes.DType) -> None:
    """Python integers must fit an integer dtype (PyTorch refuses [300] as int8; arrays wrap instead)."""
    if target.category != dtypes.INTEGRAL or host.size == 0 or host.dtype.kind not in "iu":
        return
    info = numpy.iinfo(target.np)
    low, high = host.min(), host.max()
    if low < info.min or high > info.max:
        raise ArgumentError(f"tensor: value {low if low < info.min else high} cannot be converted to type "
                            f"{target.name} without overflow")


def tensor(data, dtype=None, device=None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, scalars, NumPy arrays or a Tensor).

    Python floats become float32 (the default dtype), ints int64, bools bool; NumPy arrays and scalars keep
    their dtype (float16, int8, uint8, ...). ``gg.tensor([[1., 2.], [3., 4.]], requires_grad=True)``.
    """
    check_pin_memory("tensor", pin_memory)
    backend = _backend_of(device)
    if isinstance(data, (list, tuple)) and _holds_tensor(data):
        data = _tensors_as_numbers(data)
    host, from_python = _infer_host(data)
    listed = _list_dtype(data) if dtype is None and isinstance(data, (list, tuple)) else None
    if dtype is not None:
        target = dtypes.to_dtype(dtype)
        if from_python:
            _check_fits(host, target)
    elif listed is not None:
        target = listed
    elif from_python and host.dtype.kind in FLOAT_KINDS:
        target = dtypes.default_float  # Python floats are the default dtype, as in PyTorch
    elif from_python and host.dtype.kind == "c":
        target = dtypes.default_complex()  # Python complex numbers: complex64 beside float32
    else:
        target = dtypes.of_array_checked(host, "tensor")
    # one fresh copy: the device's (the cast is NumPy's array itself where it has the dtype already)
    return _finish(backend.asarray(dtypes.cast_array(host, target.np, copy=False)), backend, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """``data`` as a tensor, sharing rather than copying where it can, as PyTorch's: a Tensor comes back
    itself when its dtype and device already match, else converted by ``data.to`` (recorded, so gradients
    still reach ``data``); a writable NumPy array becomes a CPU tensor sharing its memory when no other
    dtype is asked for; anything else is copied by ``tensor``."""
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype)
    if (isinstance(data, numpy.ndarray) and data.flags.writeable and data.dtype.isnative
            and _backend_of(device) is _backend_mod.cpu and dtypes.of_numpy_dtype(data.dtype) is not None
            and (dtype is None or dtypes.to_dtype(dtype).np == data.dtype)):
        return from_numpy(data)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array: numpy.ndarray) -> Tensor:
    """A CPU tensor sharing memory with ``array``, of the array's dtype (one of gpugrad's)."""
    if not isinstance(array, numpy.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    if not array.dtype.isnative:
        raise DTypeError(f"from_numpy: the array's byte order ({array.dtype}) is not the native one; "
                         "convert it with array.astype(array.dtype.newbyteorder('='))")
    dtypes.of_array_checked(array, "from_numpy")
    if type(array) is not numpy.ndarray:
        array = array.view(numpy.ndarray)  # a numpy.matrix (scipy's todense) would turn `*` into a matrix product
    return Tensor._make(array, _backend_mod.cpu)


@_writes_out
def zeros(*sizes, size=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    backend = _backend_of(device)
    return _finish(backend.xp.zeros(_size(_sizes_or_keyword("zeros", sizes, size)), dtype=_dtype_np(dtype)), backend, requires_grad)


@_writes_out
def ones(*sizes, size=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    backend = _backend_of(device)
    return _finish(backend.xp.ones(_size(_sizes_or_keyword("ones", sizes, size)), dtype=_dtype_np(dtype)), backend, requires_grad)


@_writes_out
def empty(*sizes, size=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    backend = _backend_of(device)
    return _finish(backend.xp.empty(_size(_sizes_or_keyword("empty", sizes, size)), dtype=_dtype_np(dtype)), backend, requires_grad)


def empty_permuted(size, physical_layout, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
                   pin_memory: bool = False) -> Tensor:
    """An uninitialised tensor of ``size`` whose memory holds its dims in the order ``physical_layout``
    (outermost first): ``empty_permuted((N, C, H, W), (0, 2, 3, 1))`` is channels-last. The strides are
    those PyTorch gives; the values are whatever the memory held."""
    if not isinstance(size, (tuple, list)) or not isinstance(physical_layout, (tuple, list)):
        raise TypeError("empty_permuted(): size and physical_layout must be tuples of ints, got "
                        f"{type(size).__name__} and {type(physical_layout).__name__}")
    if layout is not None:
        layouts.check_layout("empty_permuted", layout)
    check_pin_memory("empty_permuted", pin_memory)
    shape = _size((tuple(size),))
    order = tuple(int(d) for d in physical_layout)
    if len(order) != len(shape):
        raise ShapeError(f"empty_permuted: number of dimensions in size does not match the length of the "
                         f"physical_layout; i.e. len(size) = {len(shape)} is not equal to len(physical_layout) = "
                         f"{len(order)}")
    for i, d in enumerate(order):
        if not 0 <= d < len(shape):
            raise IndexError(f"empty_permuted: dimension out of range (expected to be between 0 and "
                             f"{len(shape) - 1}, but got {d} at index {i})")
    if len(set(order)) != len(order):
        raise ArgumentError(f"empty_permuted: duplicate dim not allowed in physical_layout {list(order)}")
    backend = _backend_of(device)
    memory = backend.xp.empty(tuple(shape[d] for d in order), dtype=_dtype_np(dtype))
    inverse = sorted(range(len(order)), key=order.__getitem__)  # where each logical dim sits in memory
    return _finish(memory.transpose(inverse), backend, requires_grad)


@_writes_out
def full(size, fill_value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    backend = _backend_of(device)
    if dtype is None:
        dtype = (dtypes.bool_ if isinstance(fill_value, bool) else dtypes.int64 if isinstance(fill_value, int)
                 else dtypes.default_complex() if isinstance(fill_value, complex) else None)
    return _finish(backend.xp.full(_size((size,)), fill_value, dtype=_dtype_np(dtype)), backend, requires_grad)


@_writes_out
def arange(start, end=None, step=1, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Values from start (inclusive) to end (exclusive); int64 when all arguments are ints."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        dtype = dtypes.int64 if all(isinstance(v, int) for v in (start, end, step)) else None
    backend = _backend_of(device)
    target = _dtype_np(dtype)
    if target is not None and target.kind in "iu" and not all(isinstance(v, int) for v in (start, end, step)):
        return _finish(backend.asarray(_integer_arange(start, end, step, target)), backend, requires_grad)
    return _finish(backend.xp.arange(start, end, step, dtype=target), backend, requires_grad)


def _integer_arange(start, end, step, target) -> numpy.ndarray:
    """PyTorch's arange of an integer dtype from float bounds: start and step truncated toward zero, the
    length from the bounds as given, except int64's, whose kernel divides the truncated bounds as
    integers (``arange(0.0, -8.000001, -4.0, dtype=int64)`` is [0, -4]; in int32, [0, -4, -8]). A step
    that truncates to 0 repeats start, or for int64 is refused, as PyTorch's."""
    first, last, stride = (math.trunc(float(v)) for v in (start, end, step))
    if float(step) == 0 or stride == 0 and target == numpy.int64:
        raise ArgumentError("arange: step must be nonzero")
    if target == numpy.int64:
        span = last - first + stride - (1 if stride > 0 else -1)
        size = abs(span) // abs(stride) if (span >= 0) == (stride > 0) else 0
    else:
        size = max(math.ceil((float(end) - float(start)) / float(step)), 0)
    return (numpy.arange(size, dtype=numpy.int64) * stride + first).astype(target)


@_writes_out
def linspace(start, end, steps: int, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from start to end inclusive. Floats are computed as PyTorch does,
    in the dtype itself (float16 rounds at each step): the first half counted up from start, the second
    down from end, so both ends are exact. Integer dtypes take start + i * step, computed in float64,
    truncated toward zero (``linspace(5, -5, 20, dtype=int64)`` has 0 at 0.79 and at -0.79)."""
    target = dtypes.to_dtype(dtype) if dtype is not None else dtypes.default_float
    if target is dtypes.bool_:
        raise DTypeError("linspace: not implemented for dtype bool")
    if steps < 0:
        raise ArgumentError(f"linspace: number of steps must be non-negative, got {steps}")
    backend = _backend_of(device)
    xp = backend.xp
    if target.category == dtypes.INTEGRAL:
        values = xp.trunc(xp.linspace(int(start), int(end), steps, dtype=dtypes.float64.np))
        return _finish(values.astype(target.np), backend, requires_grad)
    kind = target.np.type
    first, last = kind(start), kind(end)
    step = (last - first) / kind(max(steps - 1, 1))
    index = xp.arange(steps, dtype=target.np)
    up = first + step * index
    down = last - step * (kind(steps - 1) - index)
    values = xp.where(xp.arange(steps) < max(steps // 2, 1), up, down)
    return _finish(values.astype(target.np, copy=False), backend, requires_grad)


@_writes_out
def logspace(start, end, steps: int, base: float = 10.0, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """``base`` to the powers ``linspace(start, end, steps)``, computed in float64 and rounded once to
    ``dtype`` (the default float when None). For an integer dtype, start and end are truncated to
    integers first, as PyTorch's (``logspace(0, 1.2, 2, dtype=int64)`` is [1, 10])."""
    target = dtypes.to_dtype(dtype) if dtype is not None else dtypes.default_float
    if target.np.kind in "iub":
        start, end = math.trunc(float(start)), math.trunc(float(end))
    powers = linspace(start, end, steps, dtype=dtypes.float64, device=device)._array
    backend = _backend_of(device)
    return _finish((float(base) ** powers).astype(target.np), backend, requires_grad)


def _window(name: str, length: int, periodic: bool, dtype, device, requires_grad: bool, shape) -> Tensor:
    """A window of ``length`` samples, ``shape(n, m)`` at n = 0 .. m-1 in float64 over m = length (+1 when
    ``periodic``, the last sample then dropped: the window of a spectral frame), rounded once to dtype."""
    if length < 0:
        raise ArgumentError(f"{name}: requires non-negative window_length, got window_length={length}")
    target = dtypes.to_dtype(dtype) if dtype is not None else dtypes.default_float
    if not target.is_floating_point:
        raise DTypeError(f"{name}: expects floating point dtypes, got: {target}")
    if length <= 1:
        values = numpy.ones(length)
    else:
        m = length + 1 if periodic else length
        values = shape(numpy.arange(m, dtype=numpy.float64), m)[:length]
    return _finish(values.astype(target.np), _backend_of(device), requires_grad)


def hann_window(window_length: int, periodic: bool = True, *, dtype=None, device=None,
                requires_grad: bool = False) -> Tensor:
    """0.5 - 0.5 cos(2 pi n / (m - 1))."""
    return _window("hann_window", window_length, periodic, dtype, device, requires_grad,
                   lambda n, m: 0.5 - 0.5 * numpy.cos(2 * numpy.pi * n / (m - 1)))


def hamming_window(window_length: int, periodic: bool = True, alpha: float = 0.54, beta: float = 0.46, *,
                   dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """alpha - beta cos(2 pi n / (m - 1))."""
    return _window("hamming_window", window_length, periodic, dtype, device, requires_grad,
                   lambda n, m: alpha - beta * numpy.cos(2 * numpy.pi * n / (m - 1)))


def blackman_window(window_length: int, periodic: bool = True, *, dtype=None, device=None,
                    requires_grad: bool = False) -> Tensor:
    """0.42 - 0.5 cos(2 pi n / (m - 1)) + 0.08 cos(4 pi n / (m - 1))."""
    return _window("blackman_window", window_length, periodic, dtype, device, requires_grad,
                   lambda n, m: 0.42 - 0.5 * numpy.cos(2 * numpy.pi * n / (m - 1))
                   + 0.08 * numpy.cos(4 * numpy.pi * n / (m - 1)))


def bartlett_window(window_length: int, periodic: bool = True, *, dtype=None, device=None,
                    requires_grad: bool = False) -> Tensor:
    """1 - |2n / (m - 1) - 1|, a triangle."""
    return _window("bartlett_window", window_length, periodic, dtype, device, requires_grad,
                   lambda n, m: 1.0 - numpy.abs(2.0 * n / (m - 1) - 1.0))


def kaiser_window(window_length: int, periodic: bool = True, beta: float = 12.0, *, dtype=None, device=None,
                  requires_grad: bool = False) -> Tensor:
    """I0(beta sqrt(1 - (2n / (m - 1) - 1)^2)) / I0(beta)."""
    from . import _bessel

    def shape(n, m):
        inside = beta * numpy.sqrt(numpy.clip(1.0 - (2.0 * n / (m - 1) - 1.0) ** 2, 0.0, None))
        return _bessel.bessel(numpy, 0, inside) / _bessel.bessel(numpy, 0, numpy.asarray([float(beta)]))[0]

    return _window("kaiser_window", window_length, periodic, dtype, device, requires_grad, shape)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None) -> Tensor:
    """The (2, N) coordinates of a row x col matrix's lower triangle (``offset`` diagonals above the
    main one included), row by row, as int64 (or ``dtype``)."""
    return _triangle_indices(numpy.tril_indices, row, col, offset, dtype, device)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None) -> Tensor:
    """The (2, N) coordinates of a row x col matrix's upper triangle from diagonal ``offset`` on, row by row."""
    return _triangle_indices(numpy.triu_indices, row, col, offset, dtype, device)


def _triangle_indices(which, row, col, offset, dtype, device) -> Tensor:
    if row < 0 or col < 0:
        raise ArgumentError(f"{which.__name__}: row and col must be non-negative, got {row} and {col}")
    backend = _backend_of(device)
    target = dtypes.to_dtype(dtype) if dtype is not None else dtypes.int64
    coords = numpy.stack(which(row, offset, col)).astype(target.np)
    return _finish(backend.asarray(coords), backend, False)


@_writes_out
def eye(n: int, m: int | None = None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    backend = _backend_of(device)
    return _finish(backend.xp.eye(n, m, dtype=_dtype_np(dtype)), backend, requires_grad)


def _random(op, draw, size, dtype, device, requires_grad, generator, complex_scale: float = 1.0):
    """A fresh tensor of draws: ``draw(stream, shape, np_dtype)`` on the host, copied to the device (none on
    the meta device, whose tensors hold no values: the stream stays where it was, as in PyTorch)."""
    target = dtypes.to_dtype(dtype) if dtype is not None else dtypes.default_float
    if not (target.is_floating_point or target.is_complex):
        raise DTypeError(f"{op}: expected a floating point or complex dtype, got {target.name}")
    backend = _backend_of(device)
    if backend.device.type == "meta":
        return _finish(backend.xp.zeros(_size(size), dtype=target.np), backend, requires_grad)
    stream = (generator or default_generator).stream
    if target.is_complex:  # real and imaginary parts drawn as a real tensor of shape + (2,), as PyTorch's
        parts = draw(stream, _size(size) + (2,), dtypes.real_of(target).np) * complex_scale
        host = parts.view(target.np)[..., 0]
    else:
        host = draw(stream, _size(size), target.np)
    return _finish(backend.asarray(host), backend, requires_grad)


@_writes_out
def randn(*sizes, size=None, dtype=None, device=None, requires_grad: bool = False, generator=None) -> Tensor:
    """Standard normal samples from the default (or given) generator."""
    size = _sizes_or_keyword("randn", sizes, size)
    # complex: each part of variance 1/2, so that E|z|^2 = 1, as PyTorch's
    return _random("randn", lambda r, s, d: r.normal(s, 0.0, 1.0, d), size, dtype, device, requires_grad, generator,
                   complex_scale=0.5 ** 0.5)


@_writes_out
def rand(*sizes, size=None, dtype=None, device=None, requires_grad: bool = False, generator=None) -> Tensor:
    """Uniform samples in [0, 1)."""
    size = _sizes_or_keyword("rand", sizes, size)
    return _random("rand", lambda r, s, d: r.uniform(math.prod(s), 0.0, 1.0, d).reshape(s), size, dtype, device,
                   requires_grad, generator)


@_writes_out
def randint(low: int = 0, high: int | None = None, size=(), dtype=None, device=None, generator=None) -> Tensor:
    """Integers drawn uniformly from [low, high) (int64 unless ``dtype`` says otherwise); as in torch,
    ``randint(high, size)`` and ``randint(high=h, size=s)`` draw from [0, high)."""
    if isinstance(high, (tuple, list)):  # randint(high, size)
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    target = dtypes.to_dtype(dtype) if dtype is not None else dtypes.int64
    if low >= high:
        raise ArgumentError(f"randint: expected 'low' to be less than 'high', got low={low} >= high={high}")
    dtypes.check_integer_range("randint", low, high - 1, target)
    shape = _size((size,))
    host = (generator or default_generator).stream.integers(low, high, math.prod(shape)).reshape(shape)
    backend = _backend_of(device)
    return _finish(backend.asarray(host.astype(target.np)), backend, False)


@_writes_out
def randperm(n: int, device=None, generator=None, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """A random permutation of 0 ... n - 1, int64 unless ``dtype`` names another integer or float dtype
    that holds n - 1 (``out=`` as the other factories)."""
    target = dtypes.int64 if dtype is None else dtypes.to_dtype(dtype)
    if target.category not in (dtypes.INTEGRAL, dtypes.FLOATING):
        raise NotImplementedError(f'"randperm" not implemented for \'{target.name}\'')
    if n < 0:
        raise ArgumentError(f"randperm: Trying to create tensor with negative dimension {n}: [{n}]")
    if target.category == dtypes.INTEGRAL and n > 0:
        _check_fits(numpy.asarray([n - 1]), target)
    backend = _backend_of(device)
    order = (generator or default_generator).stream.permutation(n)
    return _finish(backend.asarray(order.astype(target.np)), backend, requires_grad)


def _like(name, fill):
    def like(input: Tensor, dtype=None, device=None, requires_grad: bool = False, *, layout=None,
             memory_format=None) -> Tensor:
        layouts.check_layout(name, layout)
        layouts.check_memory_format(name, memory_format)
        backend = _backend_mod.get(device) if device is not None else input._backend
        np_dtype = dtypes.to_dtype(dtype).np if dtype is not None else input._array.dtype
        return _finish(fill(backend.xp, input._array.shape, np_dtype), backend, requires_grad)

    like.__name__ = like.__qualname__ = name
    return like


zeros_like = _like("zeros_like", lambda xp, shape, dt: xp.zeros(shape, dtype=dt))
ones_like = _like("ones_like", lambda xp, shape, dt: xp.ones(shape, dtype=dt))
empty_like = _like("empty_like", lambda xp, shape, dt: xp.empty(shape, dtype=dt))


def full_like(input: Tensor, fill_value, dtype=None, device=None, requires_grad: bool = False, *, layout=None,
              memory_format=None) -> Tensor:
    return _like("full_like", lambda xp, shape, dt: xp.full(shape, fill_value, dtype=dt))(
        input, dtype, device, requires_grad, layout=layout, memory_format=memory_format)


def randn_like(input: Tensor, dtype=None, device=None, requires_grad: bool = False, generator=None, *,
               layout=None, memory_format=None) -> Tensor:
    layouts.check_layout("randn_like", layout)
    layouts.check_memory_format("randn_like", memory_format)
    return randn(input.shape, dtype=dtype or input.dtype, device=device or input.device, requires_grad=requires_grad,
                 generator=generator)


def rand_like(input: Tensor, dtype=None, device=None, requires_grad: bool = False, generator=None, *,
              layout=None, memory_format=None) -> Tensor:
    layouts.check_layout("rand_like", layout)
    layouts.check_memory_format("rand_like", memory_format)
    return rand(input.shape, dtype=dtype or input.dtype, device=device or input.device, requires_grad=requires_grad,
                generator=generator)


_make_overridable(globals())  # calls may be handed to __torch_function__ (gpugrad/overrides.py)
