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
