"""The one dispatch point between a device and the code that runs on it.

A Backend owns the array module (``xp``: NumPy on the CPU, CuPy on an NVIDIA GPU) and names the kernel
implementation that ``gpugrad.kernels`` launchers should use. Nothing above this module calls NumPy for
array work on a tensor's data; it asks the tensor's backend.
"""
from __future__ import annotations

import itertools
import math
import operator
import os
import sys
import threading

import numpy

from . import _vmath_ufuncs, determinism
from . import dtypes as _dtypes
from . import threads as _threads
from .dtypes import FLOAT_KINDS
from .errors import CaptureError, DeviceError, DTypeError
from .kernels import math_map, rows_copy, transpose

_add_reduce = numpy.add.reduce

__all__ = ["Device", "Backend", "get", "info", "cpu"]

# From this many elements a sum over the last dims runs as gpugrad.kernels.reduce's row sums (a 64 x 100
# float32 sum took 2.0 us there against NumPy's 3.0; below, the launcher's checks cost more than they save).
ROW_SUM_MIN_ELEMENTS = 1 << 14
# From this many a sum of every element runs as its kernel (kernels.reduce.sum_all: tasks of 2**16 elements
# over the threads, float64 partials), where NumPy's pairwise sum ran on one core.
FULL_SUM_MIN_ELEMENTS = 1 << 17


# From this many elements (of both operands) +, -, * and / whose operands differ in shape run as
# gpugrad.kernels.broadcast's binary: 2.1-2.6x faster than NumPy's broadcasting at 2048 x 2048 + (2048,),
# ahead even at 256 x 256 + (256,), and slower below, where the launcher's checks cost more than they save.
BROADCAST_MIN_ELEMENTS = 1 << 16
_ARITHMETIC = {operator.add: "add", operator.sub: "sub", operator.mul: "mul", operator.truediv: "div"}
_ARITHMETIC_UFUNCS = {operator.add: numpy.add, operator.sub: numpy.subtract, operator.mul: numpy.multiply,
                      operator.truediv: numpy.true_divide}
_KERNEL_FLOATS = (numpy.dtype(numpy.float32), numpy.dtype(numpy.float64))


# The device types ``torch.device`` accepts besides those gpugrad runs on (cpu, cuda, meta): a device of one
# of these names can be made, printed and compared (peft compares a device with ``torch.device("mps")``), and
# placing a tensor there is refused by ``get``.
FOREIGN_DEVICE_TYPES = ("mps", "xpu", "xla", "hpu", "mtia", "maia", "ipu", "hip", "ve", "fpga", "lazy", "vulkan",
                        "opengl", "opencl", "ideep", "mkldnn", "privateuseone")


class Device:
    """A device name, ``cpu``, ``cuda:N`` or ``meta``, as in ``torch.device``. PyTorch's other device types
    (``mps``, ``xpu``, ...: FOREIGN_DEVICE_TYPES) name devices too, on which gpugrad places nothing."""

    __slots__ = ("type", "index")

    def __init__(self, spec, index: int | None = None) -> None:
        if isinstance(spec, Device):
            self.type, self.index = spec.type, spec.index
            return
        if isinstance(spec, int) and not isinstance(spec, bool):  # an index alone names a CUDA device, as in PyTorch
            if spec < 0:
                raise DeviceError(f"device index must not be negative, got {spec}")
            self.type, self.index = "cuda", spec
            return
        if not isinstance(spec, str):
            raise DeviceError(f"device must be a string like 'cpu' or 'cuda:0', or a CUDA index, got {spec!r}")
        kind, colon, num = spec.partition(":")
        if kind not in ("cpu", "cuda", "meta") and kind not in FOREIGN_DEVICE_TYPES:
            raise DeviceError(f"unknown device {spec!r}: expected 'cpu', 'cuda', 'cuda:N' or 'meta' (or another of "
                              f"PyTorch's device types: {', '.join(FOREIGN_DEVICE_TYPES)})")
        if colon:
            if not num.isdigit() or (len(num) > 1 and num[0] == "0"):  # "cpu:0" names the CPU too, as in PyTorch
                raise DeviceError(f"invalid device {spec!r}")
            index = int(num)
        if kind == "cuda" and index is None:
            index = 0
        self.type, self.index = kind, index

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    # ``with gg.device("cuda"):`` makes it the factories' default inside the block, as PyTorch 2's
    # device context; the default lives in gpugrad/default_device.py, which builds on this module.
    def __enter__(self) -> "Device":
        from . import default_device

        default_device.enter(self)
        return self

    def __exit__(self, *exc) -> None:
        from . import default_device

        default_device.exit()

    def __repr__(self) -> str:
        return f"device(type='{self.type}'" + ("" if self.index is None else f", index={self.index}") + ")"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            try:
                other = Device(other)
            except DeviceError:
                return False
        return isinstance(other, Device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))


class Backend:
    """Array module and kernel choice for one device.

    ``kernel_impl`` is what op code passes to ``gpugrad.kernels`` launchers as ``impl``. None (the CPU and
    CuPy backends) lets the launcher choose from the array module and ``GPUGRAD_FUSED``; a test backend
    that runs CUDA kernels on NumPy arrays in Numba's simulator sets "cuda".
    """

    # The gpugrad.cuda.CUDAGraph capturing this device's work, else None (see gpugrad/cuda/graphs.py:
    # host reads refuse, GEMMs go to cuBLAS directly, kernel error flags are checked after replays).
    capture = None

    def __init__(self, device: Device, xp, kernel_impl: str | None = None) -> None:
        self.device = device
        self.xp = xp
        self.ndarray = xp.ndarray  # the array type this device's results have
        self.kernel_impl = kernel_impl
        self.pending_checks: set = set()  # error-flag checks that graph replays left to run at a host read

    def __repr__(self) -> str:
        return f"Backend({self.device}, xp={self.xp.__name__}, kernels={self.kernel_impl})"

    # Transfers -----------------------------------------------------------------------------------
    def asarray(self, data, dtype=None):
        """Copy host data (lists, scalars, NumPy arrays) onto this device; always a copy, so a transfer
        never aliases its source (the simulated "cuda" device also holds NumPy arrays)."""
        if self.capture is not None:
            raise self.capture.refuse("copy to the device")
        if dtype is None and data.__class__ is numpy.ndarray and data.flags.c_contiguous:
            out = rows_copy.copy(data)  # a large one over the threads; None where small
            if out is not None:
                return out
        return self.xp.array(data, dtype=dtype, copy=True)

    def to_numpy(self, array, op: str = "copy to the host") -> numpy.ndarray:
        """The array on the host; ``op`` names the user's call in the error a graph capture raises."""
        if self.capture is not None:
            raise self.capture.refuse(op)
        if self.pending_checks:  # error flags that graph replays left: read them first
            self.synchronize()
        return numpy.asarray(array) if self.xp is numpy else self.xp.asnumpy(array)

    # Array helpers whose spelling differs between NumPy and CuPy ---------------------------------
    def index_add(self, target, index, values) -> None:
        """target[index] += values, accumulating repeated indices."""
        if self.xp is numpy:
            numpy.add.at(target, index, values)
        else:  # pragma: no cover - needs a GPU
            import cupyx

            if target.dtype.kind in FLOAT_KINDS:  # float atomic adds: the sum's order varies from run to run
                determinism.alert_not_deterministic("index_add on CUDA (the backward of indexing and gathers)")
            cupyx.scatter_add(target, index, values)

    def index_reduce(self, target, index, values, reduce: str) -> None:
        """target[index] = reduce(target[index], values) for reduce in prod, amax, amin, combining
        repeated indices (NumPy's ufunc.at; CuPy's scatter_max/min, and for prod one pass per repeat)."""
        xp = self.xp
        if xp is numpy:
            ufunc = {"prod": numpy.multiply, "amax": numpy.maximum, "amin": numpy.minimum}[reduce]
            ufunc.at(target, index, values)
            return
        import cupyx  # pragma: no cover - needs a GPU

        if reduce == "amax":  # pragma: no cover - needs a GPU
            cupyx.scatter_max(target, index, values)
        elif reduce == "amin":  # pragma: no cover - needs a GPU
            cupyx.scatter_min(target, index, values)
        else:  # pragma: no cover - needs a GPU
            multiply_in_rounds(xp, target, index, values)

    # NumPy's calls on the CPU threads (gpugrad/threads.py); CuPy's as they are ------------------------
    def ufunc(self, fn, *operands):
        """``fn(*operands)`` for a ufunc of ``xp`` that keeps its float operands' dtype: on the CPU, a large
        one runs split over the threads, with the same bits: one of kernels/_vmath's float32 functions of
        one argument (``_vmath_ufuncs.over_threads``) or NumPy's negative, absolute, sqrt or reciprocal as
        a loop over Numba's threads (``kernels.math_map``), any other in chunks on gpugrad's
        (``threads.ufunc``). The ops whose elements cost most call it (exp, log, sqrt); plain
        arithmetic splits in ``arithmetic``, which only large operands reach."""
        for a in operands:  # a plain loop and no call while small: every elementwise op passes here
            if type(a) is numpy.ndarray and a.size >= _threads.PARALLEL_MIN_ELEMENTS:
                if len(operands) == 1:
                    name = math_map.NUMPY_UFUNCS.get(fn)
                    out = _vmath_ufuncs.over_threads(fn, a) if name is None else math_map.apply(name, a)
                    if out is not None:
                        return out
                out = _threads.ufunc(fn, operands)
                return fn(*operands) if out is None else out
        return fn(*operands)

    def copy(self, array):
        """A C-contiguous copy of ``array`` that shares no memory with it (``contiguous()``, a leaf's
        gradient: PyTorch's layout for a contiguous parameter, whatever view the gradient arrived as). On
        the CPU a view transposed in its last two axes is copied by tiles (``gpugrad.kernels.transpose``:
        NumPy's copy walks its source down the columns), another large one on Numba's threads
        (``gpugrad.kernels.rows_copy``) or, where that declines, gpugrad's (``threads.copy``)."""
        if (self.xp is numpy and array.__class__ is numpy.ndarray
                and array.size >= min(transpose.MIN_ELEMENTS, _threads.PARALLEL_MIN_ELEMENTS)):
            # (small ones, clone()'s usual, take NumPy's copy below without either call)
            if transpose.is_transposed(array):
                out = transpose.copy(array)
                if out is not None:
                    return out
            out = rows_copy.copy(array)  # over Numba's threads
            if out is None:
                out = _threads.copy(array)  # float16 and the layouts rows_copy declines
            if out is not None:
                return out
        return self.xp.array(array, copy=True, order="C")

    # Layout copies (cat, pad, repeat, roll): NumPy's make them on one core; on the CPU a large one is built as
    # slices of its result, each filled over the threads (``threads.assign``). The same bits either way.
    def _large(self, array) -> bool:
        return self.xp is numpy and array.__class__ is numpy.ndarray and array.size >= _threads.PARALLEL_MIN_ELEMENTS

    def concatenate(self, arrays, axis: int):
        """``xp.concatenate(arrays, axis)`` of arrays of one dtype, always C-contiguous (as PyTorch's cat)."""
        first = arrays[0]
        if self.xp is numpy and sum(a.size for a in arrays) >= _threads.PARALLEL_MIN_ELEMENTS:
            shape = list(first.shape)
            shape[axis] = sum(a.shape[axis] for a in arrays)
            out = numpy.empty(shape, first.dtype)
            lead, start = (slice(None),) * axis, 0
            for a in arrays:
                _threads.assign(out[lead + (slice(start, start + a.shape[axis]),)], a)
                start += a.shape[axis]
            return out
        out = self.xp.concatenate(arrays, axis=axis)
        # NumPy lays the result out as its inputs (transposed or expanded ones give a transposed result)
        return out if out.flags.c_contiguous else self.xp.ascontiguousarray(out)

    def pad(self, x, widths, value):
        """``xp.pad(x, widths, constant_values=value)``: ``widths`` one (before, after) pair per dim."""
        if not self._large(x):
            return self.xp.pad(x, widths, constant_values=value)
        out = rows_copy.pad(x, widths, value)  # the last two dims only: whole rows, border included
        if out is not None:
            return out
        out = numpy.empty(tuple(s + b + a for s, (b, a) in zip(x.shape, widths)), x.dtype)
        _threads.assign(out[tuple(slice(b, b + s) for s, (b, _) in zip(x.shape, widths))], x)
        for axis, (before, after) in enumerate(widths):  # the border, a slab of each side (as NumPy fills it)
            lead = (slice(None),) * axis
            out[lead + (slice(0, before),)] = value
            out[lead + (slice(before + x.shape[axis], None),)] = value
        return out

    def tile(self, x, repeats):
        """``xp.tile(x, repeats)``, ``repeats`` one count per dim of ``x``."""
        if not self._large(x):
            return self.xp.tile(x, repeats)
        out = numpy.empty(tuple(r * s for r, s in zip(repeats, x.shape)), x.dtype)
        blocks = tuple(v for r, s in zip(repeats, x.shape) for v in (r, s))  # (r0, s0, r1, s1, ...)
        _threads.assign(out.reshape(blocks), x.reshape(tuple(v for s in x.shape for v in (1, s))))
        return out

    def roll(self, x, shifts, axes):
        """``xp.roll(x, shifts, axes)``; ``axes`` None rolls the flattened array by ``shifts[0]``."""
        if not self._large(x):
            return self.xp.roll(x, shifts if axes is not None else shifts[0], axis=axes)
        if axes is None:
            return self.roll(x.reshape(-1), shifts, (0,)).reshape(x.shape)
        by_axis = dict.fromkeys(range(x.ndim), 0)
        for shift, axis in zip(shifts, axes):  # a repeated axis rolls by the sum, as NumPy's
            by_axis[axis] += shift
        halves = []  # per axis: (destination, source) slices
        for axis, shift in by_axis.items():
            n = x.shape[axis]
            s = shift % n if n else 0
            halves.append([(slice(None), slice(None))] if s == 0 else
                          [(slice(s, None), slice(0, n - s)), (slice(0, s), slice(n - s, None))])
        out = numpy.empty(x.shape, x.dtype)
        for block in itertools.product(*halves):
            _threads.assign(out[tuple(d for d, _ in block)], x[tuple(s for _, s in block)])
        return out

    def arithmetic(self, fn, a, b):
        """``fn(a, b)`` for ``fn`` a binary function of operator's, on this device's arrays (or a Python
        number). For add, sub, mul and truediv on the CPU, a large one of two float arrays of one dtype
        whose shapes differ, one repeating along the other's leading and trailing dims (a bias row, a
        column, a per-channel value), runs as ``gpugrad.kernels.broadcast``'s binary: NumPy's
        broadcasting runs at half memory speed there. The same bits either way, and the same layout: only
        C-contiguous operands, whose result NumPy lays out C-contiguous too (a transposed operand's result
        keeps NumPy's order). A large one of two C-contiguous float32/float64 arrays of one shape, or of
        one such array and a Python number, runs as that kernel's flat loops over the threads (one core
        does not reach memory speed there); of another float dtype, or views whose rows lie in order (a
        slice of columns), split over the threads (``threads.ufunc``)."""
        if self.xp is numpy and fn in _ARITHMETIC:
            if a.__class__ is numpy.ndarray and b.__class__ is numpy.ndarray:
                same = a.shape == b.shape
                if ((a.size >= _threads.PARALLEL_MIN_ELEMENTS if same else a.size + b.size >= BROADCAST_MIN_ELEMENTS)
                        and a.dtype is b.dtype and a.dtype in _KERNEL_FLOATS and a.flags.c_contiguous
                        and b.flags.c_contiguous):
                    from .kernels import broadcast

                    how = broadcast.plan(a.shape, b.shape)
                    if how is not None:
                        return broadcast.binary(numpy, _ARITHMETIC[fn], a, b, impl=self.kernel_impl, how=how)
                if same and a.size >= _threads.PARALLEL_MIN_ELEMENTS and _in_row_order(a) and _in_row_order(b):
                    # float16; views of rows, as the slices of a concatenation's gradient
                    out = _threads.ufunc(_ARITHMETIC_UFUNCS[fn], (a, b))
                    if out is not None:
                        return out
            elif (a.__class__ is numpy.ndarray and a.size >= _threads.PARALLEL_MIN_ELEMENTS
                  or b.__class__ is numpy.ndarray and b.size >= _threads.PARALLEL_MIN_ELEMENTS):
                out = self._with_number(fn, a, b)
                if out is None:
                    out = _threads.ufunc(_ARITHMETIC_UFUNCS[fn], (a, b))  # float16, complex
                if out is not None:
                    return out
        return fn(a, b)

    def _with_number(self, fn, a, b):
        """``fn(a, b)`` for one large NumPy array and one Python float or int (either side) as
        ``gpugrad.kernels.broadcast``'s loop of one value over the threads: the number in the array's dtype
        (NumPy's conversion, as its operator makes it), then one IEEE operation per element, NumPy's bits.
        None where NumPy should compute it: another dtype or operand, a non-contiguous array, a number the
        dtype cannot hold (NumPy decides what that gives)."""
        array, number = (a, b) if a.__class__ is numpy.ndarray else (b, a)
        if array.dtype not in _KERNEL_FLOATS or not array.flags.c_contiguous:
            return None
        from .kernels import broadcast
        from .kernels._checks import number_as_value

        part = number_as_value(number, array.dtype)
        if part is None:
            return None
        how = (array is a, (1, 1, array.size))
        return broadcast.binary(numpy, _ARITHMETIC[fn], a if array is a else part, part if array is a else b,
                                impl=self.kernel_impl, how=how)

    def sum(self, x, axes, keepdims: bool, dtype=None):
        """``x.sum(axis=axes, keepdims=keepdims, dtype=dtype)``. On the CPU, a large float sum over the last
        dims (not all) runs as ``gpugrad.kernels.reduce``'s row sums (vectorised, rows over the threads); one of
        every element as its ``sum_all`` (float64 partials over the threads, rounded once); one
        over the leading dims (not all; 64 rows or more, or large) as its ``sum_leading`` (float32 over 64 rows or
        more added in float64 and rounded once; over fewer, and float64, NumPy's bits; columns over the
        threads); a large one over other dims that keeps axis 0, by blocks of rows over the threads with
        NumPy's bits."""
        if (self.xp is numpy and x.size >= FULL_SUM_MIN_ELEMENTS and (axes is None or len(axes) == x.ndim)
                and (x.dtype == numpy.float32 or x.dtype == numpy.float64)
                and (dtype is None or dtype == x.dtype or dtype == numpy.float64)):
            from .kernels.reduce import sum_all

            out = numpy.array(sum_all(numpy, x, impl=self.kernel_impl), dtype or x.dtype)  # 0-d, rounded once
            return out.reshape((1,) * x.ndim) if keepdims else out
        if self.xp is numpy and axes and x.size >= ROW_SUM_MIN_ELEMENTS:  # one test on small tensors' way
            lead = len(axes)
            kept = x.ndim - lead
            if (0 < kept and (x.dtype == numpy.float32 or x.dtype == numpy.float64)
                    and (dtype is None or dtype == x.dtype) and x.flags.c_contiguous):
                ordered = sorted(axes)
                if ordered == list(range(kept, x.ndim)):
                    from .kernels.reduce import sum_rows

                    out = sum_rows(numpy, x.reshape(math.prod(x.shape[:kept]), -1), impl=self.kernel_impl)
                    return out.reshape(x.shape[:kept] + (1,) * lead if keepdims else x.shape[:kept])
                if ordered == list(range(lead)):  # mixed axes (0 and 2 of 3) stay NumPy's
                    from .kernels.reduce import LEADING_MIN_ROWS, sum_leading

                    rows = math.prod(x.shape[:lead])
                    if rows >= LEADING_MIN_ROWS or x.size >= _threads.PARALLEL_MIN_ELEMENTS:
                        out = sum_leading(numpy, x.reshape(rows, -1), impl=self.kernel_impl)
                        return out.reshape((1,) * lead + x.shape[lead:] if keepdims else x.shape[lead:])
            out = _threads.sum_rows(x, axes, keepdims, dtype)
            if out is not None:
                return out
        if self.xp is numpy:  # what ndarray.sum calls, without its Python wrapper
            if axes is None and not keepdims and dtype is not None:
                # A full sum into a 0-d array, not NumPy's scalar, which the op would then wrap
                return _add_reduce(x, None, dtype, numpy.empty((), dtype), False)
            out = _add_reduce(x, axes, dtype, None, keepdims)
            # NumPy lays a reduction of a permuted array out as the input; PyTorch's are contiguous
            return out if axes is None or out.flags.c_contiguous else out.copy(order="C")
        return x.sum(axis=axes, keepdims=keepdims, dtype=dtype)

    def sum_of_squares(self, x, axes, keepdims: bool):
        """``(x * x).sum(axis=axes, keepdims=keepdims)`` for a float x (a 2-norm's sum): over its last dims
        (not all) on the CPU, large, as ``gpugrad.kernels.reduce``'s row sums of squares in one pass; else
        the product, then ``sum``."""
        if (self.xp is numpy and axes and x.size >= ROW_SUM_MIN_ELEMENTS and x.ndim > len(axes)
                and (x.dtype == numpy.float32 or x.dtype == numpy.float64) and x.flags.c_contiguous
                and sorted(axes) == list(range(x.ndim - len(axes), x.ndim))):
            from .kernels.reduce import sum_rows

            kept = x.shape[:x.ndim - len(axes)]
            out = sum_rows(numpy, x.reshape(math.prod(kept), -1), squares=True, impl=self.kernel_impl)
            return out.reshape(kept + (1,) * len(axes) if keepdims else kept)
        return self.sum(x * x, axes, keepdims)

    def matmul(self, a, b):
        """The matrix product of two arrays on this device (NumPy's matmul rules): the one call through
        which the ops' GEMMs (matmul, Linear, conv2d, forward and backward) reach the array library."""
        # a.size * b.size (m k k n for matrices) bounds the product's m k n from above: a cheap first test
        # that keeps the small products of the op hot path from paying for the shapes' tuples.
        if self.xp is numpy and a.size * b.size >= _threads.TINY_GEMM_MACS and a.ndim > 1 and b.ndim > 1:
            macs = a.shape[-2] * a.shape[-1] * b.shape[-1]
            b = _not_its_own_transpose(a, b)
            if a.ndim > 2 or b.ndim > 2:  # a stack of products: its matrices over the threads
                out = _threads.batched_matmul(a, b, macs)
                if out is not None:
                    return out
            _threads.gemm_threads(macs)
        return self.xp.matmul(a, b)

    def synchronize(self) -> None:
        """Wait for all work queued on the device, every stream (as torch.cuda.synchronize)."""
        if self.capture is not None:
            raise self.capture.refuse("synchronize")
        if self.xp is not numpy:  # pragma: no cover - needs a GPU
            self.xp.cuda.Device(self.device.index).synchronize()
        if self.pending_checks:  # the kernel error flags that graph replays left (each raises if set)
            checks = list(self.pending_checks)
            self.pending_checks.clear()
            for check in checks:
                check()


def _not_its_own_transpose(a: numpy.ndarray, b: numpy.ndarray) -> numpy.ndarray:
    """``b``, copied (in its own layout) when it is ``a``'s transpose in the same memory and the product's
    inner dim is at most half its rows. NumPy computes ``a @ a.T`` as syrk, half the products and then a
    strided copy of the triangle, which took 2-3x a GEMM's time where the inner dim is the smaller (a Gram
    matrix of many short rows, attention's scores of q against itself) and won only where it is the larger
    (bench/NOTES.md, forty-third session). PyTorch's is always the GEMM."""
    n, k = a.shape[-2], a.shape[-1]
    if b.shape[-1] != n or 2 * k > n or a.strides[-2:] != b.strides[:-3:-1] or a.ctypes.data != b.ctypes.data:
        return b
    return b.copy(order="K")


def _in_row_order(a: numpy.ndarray) -> bool:
    """Whether NumPy lays out a ufunc's result of ``a`` in C order, as ``threads.ufunc`` does: ``a`` is
    C-contiguous, or a view whose strides fall from axis to axis (columns sliced out of a wider array)."""
    if a.flags.c_contiguous:
        return True
    strides = a.strides
    return all(outer >= inner > 0 for outer, inner in zip(strides, strides[1:]))


def multiply_in_rounds(xp, target, index: tuple, values) -> None:
    """target[index] *= values for a tuple of integer arrays (one per dim of target), with repeated
    positions all applied, for array modules without a scatter multiply: round r multiplies in the r-th
    occurrence of every position, so no round writes one position twice."""
    arrays = xp.broadcast_arrays(*index)
    flat = xp.ravel_multi_index(tuple(a.reshape(-1) for a in arrays), target.shape)
    vals = xp.broadcast_to(values, arrays[0].shape).reshape(-1)
    order = xp.argsort(flat, kind="stable")
    flat, vals = flat[order], vals[order]
    starts = xp.ones(flat.shape, dtype=bool)
    starts[1:] = flat[1:] != flat[:-1]
    group = xp.cumsum(starts) - 1
    rank = xp.arange(flat.size) - xp.nonzero(starts)[0][group]  # occurrence number within its position
    view = target.reshape(-1)  # target is contiguous: a view
    for r in range(int(rank.max()) + 1 if flat.size else 0):
        chosen = rank == r
        view[flat[chosen]] *= vals[chosen]


cpu = Backend(Device("cpu"), numpy)
_backends: dict[Device, Backend] = {cpu.device: cpu}
_lock = threading.Lock()


def simulating_cuda() -> bool:
    """Test mode: the "cuda" device holds NumPy arrays and launches the CUDA kernels in Numba's simulator,
    so CI exercises device placement, transfers, mismatch errors and kernel launches with no GPU.
    Needs both GPUGRAD_SIMULATE_CUDA=1 and NUMBA_ENABLE_CUDASIM=1 (set before numba is imported)."""
    return os.environ.get("GPUGRAD_SIMULATE_CUDA") == "1" and os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"


def cuda_unavailable_reason() -> str | None:
    """Why no CUDA device can be used, or None when one can. Never raises."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return "Numba's CUDA simulator is on (NUMBA_ENABLE_CUDASIM=1)"
    try:
        import cupy
    except Exception as exc:  # ImportError, or a CuPy built for another CUDA
        return f"CuPy is not installed or failed to import ({exc.__class__.__name__}: {exc}); install gpugrad[cuda12] or gpugrad[cuda13]"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        return f"the CUDA driver is not usable ({exc})"
    if count == 0:
        return "no CUDA device is present"
    return None


def devices_in_use() -> tuple:
    """The devices a backend has been set up for in this process (the CPU's always)."""
    return tuple(_backends)


def get(device) -> Backend:
    """The backend for a device spec (``"cpu"``, ``"cuda"``, ``"cuda:1"`` or a Device)."""
    if isinstance(device, Backend):
        return device
    device = Device(device) if device is not None else cpu.device
    if device.type in ("cpu", "meta") and device.index is not None:
        device = Device(device.type)  # one CPU (and one meta device): a tensor placed on "cpu:0" reports "cpu"
    backend = _backends.get(device)
    if backend is not None:
        return backend
    if device.type in FOREIGN_DEVICE_TYPES:
        raise DeviceError(f"cannot use device '{device}': gpugrad runs on 'cpu' and 'cuda' (and 'meta') only")
    with _lock:
        if device not in _backends and device.type == "meta":
            _backends[device] = _MetaBackend(device, numpy)
        if device not in _backends and device.type == "cuda" and simulating_cuda():
            _backends[device] = Backend(device, numpy, kernel_impl="cuda")
        if device not in _backends:
            reason = cuda_unavailable_reason()
            if reason is not None:
                raise DeviceError(f"cannot use device '{device}': {reason}")
            import cupy

            if device.index >= cupy.cuda.runtime.getDeviceCount():
                raise DeviceError(f"cannot use device '{device}': only {cupy.cuda.runtime.getDeviceCount()} CUDA device(s)")
            _backends[device] = _CupyBackend(device, cupy)
        return _backends[device]


class _MetaBackend(Backend):
    """The ``meta`` device: tensors whose data no one may read, for code that builds a model there and
    gives it memory later (``Module.to_empty``). A departure from PyTorch, whose meta tensors have no
    storage: here they hold NumPy arrays (zero-filled, which the OS maps lazily) and every op computes
    on them as on the CPU, so shapes, dtypes and errors are the CPU's; reading a value refuses."""

    def to_numpy(self, array, op: str = "copy to the host") -> numpy.ndarray:
        raise NotImplementedError(f"{op}: cannot copy out of a meta tensor, it has no data; give it memory first "
                                  "(Module.to_empty(device=...), or gg.empty_like(t, device=...))")


class _CupyBackend(Backend):  # pragma: no cover - needs a GPU
    def __init__(self, device: Device, cupy) -> None:
        super().__init__(device, cupy)

    def asarray(self, data, dtype=None):
        if self.capture is not None:
            raise self.capture.refuse("copy to the device")
        bf16 = _dtypes.BFLOAT16_NP  # None until ml_dtypes is imported, when no bfloat16 array exists yet
        if bf16 is not None and (getattr(data, "dtype", None) is bf16 or dtype is bf16):
            raise DTypeError(f"bfloat16 tensors live on the CPU only for now (CuPy has no bfloat16), not on "
                             f"{self.device}; move a float32 or float16 copy (.float(), .half())")
        with self.xp.cuda.Device(self.device.index):
            return self.xp.asarray(data, dtype=dtype)

    def matmul(self, a, b):
        if self.capture is None:
            return self.xp.matmul(a, b)
        from .cuda import blas

        if not blas.capturable(a, b):
            raise CaptureError(
                f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} ({a.dtype}, {b.dtype}) cannot be captured in a "
                "CUDA graph: inside a capture, products of float32 or float64 matrices (a batch of rows times one "
                "matrix too) are")
        return blas.gemm(self.xp, a, b)


def info() -> dict:
    """Versions and devices gpugrad can see: NumPy, Numba, and where present CuPy, numba-cuda, CUDA."""
    import numba

    out = {"python": sys.version.split()[0], "numpy": numpy.__version__, "numba": numba.__version__}
    reason = cuda_unavailable_reason()
    out["cuda_available"] = reason is None
    if reason is not None:
        out["cuda_unavailable_reason"] = reason
    else:  # pragma: no cover - needs a GPU
        import cupy

        out["cupy"] = cupy.__version__
        out["cuda_runtime"] = cupy.cuda.runtime.runtimeGetVersion()
        out["device_name"] = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
        from .kernels._launch import launch_path

        out["cuda_launch"] = launch_path()
    try:
        from importlib.metadata import version

        out["numba_cuda"] = version("numba-cuda")
    except Exception:
        pass
    return out
