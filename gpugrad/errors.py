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


class CaptureError(RuntimeError):
    """Something a CUDA graph capture cannot hold (a host read, a wait, an op that syncs), named."""


class OutOfMemoryError(RuntimeError):
    """PyTorch's name (``torch.OutOfMemoryError``, ``torch.cuda.OutOfMemoryError``), so that code catching it
    runs. gpugrad's device memory comes from CuPy, and a full GPU raises CuPy's own
    ``cupy.cuda.memory.OutOfMemoryError`` (a MemoryError): catch MemoryError to catch that."""
