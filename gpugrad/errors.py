"""Exception types.

PyTorch raises RuntimeError for most misuse while Python code conventionally raises ValueError or
TypeError. These subclasses are both, so ``except RuntimeError`` (PyTorch habit) and
``except ValueError`` / ``except TypeError`` (Python habit) catch them alike.
"""


class ShapeError(ValueError, RuntimeError):
    """Shapes that do not fit the operation."""


class DTypeError(TypeError, RuntimeError):
    """A dtype the operation cannot take, or two that do not match."""


class DeviceError(RuntimeError):
    """Tensors on different devices, or a device that cannot be used."""


class ArgumentError(ValueError, RuntimeError):
    """An argument value the operation cannot take (other than a shape, dtype or device)."""


class IndexOutOfRangeError(IndexError, RuntimeError):
    """An index outside its dim where PyTorch raises IndexError or RuntimeError by the dim it meets
    (``index_select`` on dim 0 or another), so that either catches it."""


class CaptureError(RuntimeError):
    """Something a CUDA graph capture cannot hold (a host read, a wait, an op that syncs), named."""


class OutOfMemoryError(RuntimeError):
    """PyTorch's name (``torch.OutOfMemoryError``, ``torch.cuda.OutOfMemoryError``), so that code catching it
    runs. gpugrad's device memory comes from CuPy, and a full GPU raises CuPy's own
    ``cupy.cuda.memory.OutOfMemoryError`` (a MemoryError): catch MemoryError to catch that."""


def broadcast_mismatch(shapes) -> str | None:
    """PyTorch's sentence for shapes that do not broadcast, pairing them left to right as its TensorIterator
    does ("The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 1"), or
    None when they broadcast."""
    result: tuple = ()
    for shape in shapes:
        shape = tuple(shape)
        ndim = max(len(result), len(shape))
        a, b = (1,) * (ndim - len(result)) + result, (1,) * (ndim - len(shape)) + shape
        for dim in reversed(range(ndim)):
            if a[dim] != b[dim] and a[dim] != 1 and b[dim] != 1:
                return (f"The size of tensor a ({a[dim]}) must match the size of tensor b ({b[dim]}) at non-singleton "
                        f"dimension {dim}")
        result = tuple(x if y == 1 else y for x, y in zip(a, b))
    return None


def dim_out_of_range(dim: int, ndim: int) -> str:
    """What names a dim outside a tensor of ``ndim`` dims (a 0-d tensor takes -1 and 0), ending in PyTorch's
    sentence (libraries match its words)."""
    n = max(ndim, 1)
    return (f"dimension {dim} out of range for a tensor of {ndim} dimensions; Dimension out of range (expected to be "
            f"in range of [{-n}, {n - 1}], but got {dim})")
