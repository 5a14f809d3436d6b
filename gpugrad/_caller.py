"""The name of the gpugrad function the user called, read from the call stack. Only error messages use
it: where a dense op reads the array of a tensor that has none (a nested or a sparse one), the error
names that op (``F.relu``, ``clip_grad_norm_``) rather than the property that raised."""
from __future__ import annotations

import os
import sys

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep
# Frames that are machinery, not an op a user calls: autograd, the layouts' own code, amp's wrappers and
# the operand helpers; nor generic wrappers' names.
_MACHINERY = tuple(os.path.join(_PACKAGE, part)
                   for part in ("autograd", "nested", "sparse", "amp", os.path.join("ops", "_operands.py")))
_GENERIC_NAMES = frozenset(("apply", "apply_one", "apply_pair", "forward", "backward", "method", "call", "op", "run",
                            "wrapper", "inner", "fn", "decorated", "same_dtype", "cast"))


def stack_from(frame, depth: int = 16) -> list:
    """Up to ``depth`` frames from ``frame`` outwards, kept as a list (a generator's frame forgets its
    caller once it stops)."""
    frames = []
    while frame is not None and len(frames) < depth:
        frames.append(frame)
        frame = frame.f_back
    return frames


def public_caller(frames: list) -> str | None:
    """The first of ``frames`` that is a public gpugrad function, by name; a generated op (elementwise's
    ``op``) by its Function's name. None when there is none."""
    for frame in frames:
        code = frame.f_code
        path, name = code.co_filename, code.co_name
        if path.startswith(_PACKAGE) and not path.startswith(_MACHINERY) and not name.startswith(("_", "<")):
            if name not in _GENERIC_NAMES:
                return name
            fn = frame.f_locals.get("fn")
            if hasattr(fn, "op_name"):
                return fn.op_name()
    return None


def user_stacklevel() -> int:
    """``warnings.warn``'s ``stacklevel`` that points at the first caller outside gpugrad, however many of
    its frames lie between (a public op's ``__torch_function__`` wrapper, amp's, a layer's forward): the
    user's line, as PyTorch's warnings from its C++ core show it. Called in the function that warns."""
    frame, level = sys._getframe(2), 2
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level
