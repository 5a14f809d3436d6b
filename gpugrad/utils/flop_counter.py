"""``torch.utils.flop_counter``: ``FlopCounterMode`` counts the floating-point operations of the matrix
products and convolutions run inside it, forward and backward, as PyTorch's counts them: a product of an
(m, k) and a (k, n) matrix is 2 m k n, a batch of them b times that, a convolution 2 x its output
positions x its kernel's taps x C_in / groups x C_out x N, and each gradient of a product or convolution
its own such count; other ops count nothing::

    with FlopCounterMode(display=False) as counter:
        model(x).sum().backward()
    counter.get_total_flops()                 # every FLOP counted
    counter.get_flop_counts()["MLP.fc1"]      # {"aten.addmm": ..., "aten.mm": ...} for one module

Counts are kept per module (``ModuleTracker``'s names) and under ``"Global"``, keyed by the name of the
PyTorch op PyTorch would count (``"aten.mm"``, ``"aten.bmm"``, ``"aten.addmm"``, ``"aten.convolution"``,
``"aten.convolution_backward"``): strings here, where PyTorch's keys are its op objects (``str`` of them
gives the same names).

How it sees the ops: while it is active it is this thread's op watcher (the hook gpugrad's profiler uses,
autograd/watch.py; a profiler open around it still records), so every op application and every backward
node passes through it. It knows gpugrad's own ops, not PyTorch's decompositions, hence these differences:
``F.scaled_dot_product_attention``, ``conv_transpose*`` and grouped ``conv2d`` are made of matrix products
here and counted as those (the same totals as PyTorch's CPU counts for attention and for the forward and
input gradient of the others; a grouped convolution's weight gradient counts ``groups`` times less than
PyTorch's formula); ``addmm``, ``baddbmm`` and ``bmm`` called directly are counted as the products they
run, under ``"aten.mm"`` / ``"aten.bmm"``; ``einsum`` of two operands counts its forward as PyTorch's
(2 x the product of the sizes of the indices it keeps or contracts, when one is contracted), and its
backward as the einsums that backward runs. ``custom_mapping`` replaces the formula of one of these names.
"""
from __future__ import annotations

import math
import warnings
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..autograd import watch as _watch
from ..tensor import Tensor
from .module_tracker import ModuleTracker

if TYPE_CHECKING:
    from typing_extensions import Self  # annotations only: not a runtime dependency

__all__ = ["FlopCounterMode", "register_flop_formula"]

flop_registry: dict[str, Callable[..., int]] = {}


def _name(target: Any) -> str:
    return target if isinstance(target, str) else str(target)


def register_flop_formula(targets, get_raw: bool = False) -> Callable:
    """Register ``formula`` (a decorator) as the FLOP count of the op names ``targets`` (one or a list):
    it is called with the op's input shapes (and the other arguments PyTorch's op takes) and
    ``out_shape=``, and returns an int. ``get_raw`` is accepted for PyTorch's signature: gpugrad always
    passes shapes."""
    def register(formula: Callable) -> Callable:
        for target in targets if isinstance(targets, (list, tuple)) else [targets]:
            key = _name(target)
            if key in flop_registry:
                raise RuntimeError(f"duplicate registrations for {key}")
            flop_registry[key] = formula
        return formula

    return register


# The formulas (PyTorch's counting conventions; a multiply-add is 2 FLOPs) ----------------------------------
@register_flop_formula("aten.mm")
def mm_flop(a_shape, b_shape, *args, out_shape=None, **kwargs) -> int:
    """(m, k) @ (k, n): 2 m k n."""
    m, k = a_shape
    k2, n = b_shape
    if k != k2:
        raise AssertionError(f"matmul: inner dimensions must match (k == k2), got {k} and {k2}")
    return 2 * m * k * n


@register_flop_formula("aten.addmm")
def addmm_flop(self_shape, a_shape, b_shape, out_shape=None, **kwargs) -> int:
    """bias + (m, k) @ (k, n): the product's 2 m k n (the addition is not counted)."""
    return mm_flop(a_shape, b_shape)


@register_flop_formula("aten.bmm")
def bmm_flop(a_shape, b_shape, out_shape=None, **kwargs) -> int:
    """(b, m, k) @ (b, k, n): 2 b m k n."""
    b, m, k = a_shape
    b2, k2, n = b_shape
    if b != b2 or k != k2:
        raise AssertionError(f"bmm: shapes {tuple(a_shape)} and {tuple(b_shape)} do not match")
    return 2 * b * m * k * n


@register_flop_formula("aten.baddbmm")
def baddbmm_flop(self_shape, a_shape, b_shape, out_shape=None, **kwargs) -> int:
    return bmm_flop(a_shape, b_shape)


def conv_flop_count(x_shape, w_shape, out_shape, transposed: bool = False) -> int:
    """2 x (the positions the kernel visits: the output's, or the input's when transposed) x the kernel's
    taps x N x C_out x C_in (the weight's two leading dims); the bias is not counted."""
    batch = x_shape[0]
    positions = math.prod((x_shape if transposed else out_shape)[2:])
    c_out, c_in, *kernel = w_shape
    return 2 * positions * math.prod(kernel) * batch * c_out * c_in


@register_flop_formula("aten.convolution")
def conv_flop(x_shape, w_shape, _bias, _stride, _padding, _dilation, transposed, *args, out_shape=None,
              **kwargs) -> int:
    return conv_flop_count(x_shape, w_shape, out_shape, transposed=transposed)


@register_flop_formula("aten.convolution_backward")
def conv_backward_flop(grad_out_shape, x_shape, w_shape, _bias, _stride, _padding, _dilation, transposed,
                       _output_padding, _groups, output_mask, out_shape, **kwargs) -> int:
    """The input gradient (a transposed convolution of grad_out with the weight) and the weight gradient
    (a convolution of the input with grad_out, batch and channels swapped), for those ``output_mask`` asks."""
    def swap(shape):
        return [shape[1], shape[0], *shape[2:]]

    count = 0
    if output_mask[0]:
        count += conv_flop_count(grad_out_shape, w_shape, out_shape[0], not transposed)
    if output_mask[1]:
        if transposed:
            count += conv_flop_count(swap(grad_out_shape), swap(x_shape), swap(out_shape[1]))
        else:
            count += conv_flop_count(swap(x_shape), swap(grad_out_shape), swap(out_shape[1]))
    return count


# What gpugrad's ops are, as PyTorch's ops -------------------------------------------------------------
def _ops():
    """The op classes counted (imported late: the counter is imported beside nn)."""
    from ..ops import conv, linalg, linear

    return {"matmul": linalg.MatMul, "einsum": linalg.Einsum, "linear": linear.LinearAct,
            "linear_backward": linear.LinearActBackward, "conv2d": conv.Conv2d,
            "conv2d_backward": conv.Conv2dBackward}


def _matmul_calls(a_shape: tuple, b_shape: tuple, a_grad: bool, b_grad: bool) -> list[tuple[str, tuple]]:
    """The (op name, shapes) PyTorch's matmul runs for operands of these shapes, as its folding rules
    choose: matrix-vector products (mv, dot) count nothing."""
    da, db = len(a_shape), len(b_shape)
    if da == 1 and db == 1 or da == 2 and db == 1:
        return []
    if da == 1 and db == 2:
        return [("aten.mm", ((1, a_shape[0]), b_shape))]
    if da == 2 and db == 2:
        return [("aten.mm", (a_shape, b_shape))]
    if da >= 3 and db <= 2:  # folded into one matrix (vector) product
        if db == 1:
            return []
        return [("aten.mm", ((math.prod(a_shape[:-1]), a_shape[-1]), b_shape))]
    if da <= 2 and db >= 3 and a_grad:  # folded the other way round
        if da == 1:
            return []
        rows = math.prod(b_shape[:-2]) * b_shape[-1]
        return [("aten.mm", ((rows, b_shape[-2]), (b_shape[-2], a_shape[0])))]
    # A batched product over the broadcast batch dims.
    a = (1,) + tuple(a_shape) if da == 1 else tuple(a_shape)
    b = tuple(b_shape) + (1,) if db == 1 else tuple(b_shape)
    batch = math.prod(_broadcast(a[:-2], b[:-2]))
    return [("aten.bmm", ((batch, a[-2], a[-1]), (batch, b[-2], b[-1])))]


def _broadcast(a: tuple, b: tuple) -> tuple:
    width = max(len(a), len(b))
    a, b = (1,) * (width - len(a)) + a, (1,) * (width - len(b)) + b
    return tuple(max(x, y) for x, y in zip(a, b))


def _einsum_calls(inputs: tuple, output: str, sizes: dict) -> list[tuple[str, tuple]]:
    """A two-operand einsum as PyTorch's runs it: one batched product over the letters both operands and
    the output keep (batch), those one operand and the output keep (rows, columns) and those both operands
    contract; none when nothing is contracted."""
    if len(inputs) != 2:
        return []
    left, right, out = set(inputs[0]), set(inputs[1]), set(output)
    contracted = (left & right) - out
    if not contracted:
        return []

    def size(letters) -> int:
        return math.prod(sizes[c] for c in letters)

    batch, rows, cols = size(left & right & out), size((left & out) - right), size((right & out) - left)
    k = size(contracted)
    return [("aten.bmm", ((batch, rows, k), (batch, k, cols)))]


class FlopCounterMode:
    """Count FLOPs inside ``with FlopCounterMode(...) as counter:`` (see the module's docstring).

    ``depth`` limits the module levels ``get_table`` shows; ``display`` prints that table on exit;
    ``custom_mapping`` maps op names to formulas that replace the built-in ones; ``mods`` is accepted and
    unused (as in PyTorch, which warns that it is no longer needed). Not reentrant.
    """

    def __init__(self, mods=None, depth: int = 2, display: bool = True,
                 custom_mapping: dict[Any, Callable] | None = None) -> None:
        self.flop_counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.depth = depth
        self.display = display
        if mods is not None:
            warnings.warn("mods argument is not needed anymore, you can stop passing it", stacklevel=2)
        self.flop_registry = {**flop_registry, **{_name(k): v for k, v in (custom_mapping or {}).items()}}
        self.mod_tracker = ModuleTracker()
        self._previous = None
        self._active = False
        self._quiet = 0  # > 0 while a backward node counted whole runs its ops

    # Results -------------------------------------------------------------------------------------
    def get_total_flops(self) -> int:
        return sum(self.flop_counts["Global"].values())

    def get_flop_counts(self) -> dict[str, dict[str, int]]:
        """{module name: {op name: FLOPs}}, with ``"Global"`` for everything."""
        return {k: dict(v) for k, v in self.flop_counts.items()}

    def get_table(self, depth: int | None = None) -> str:
        """PyTorch's table: each module to ``depth`` levels with its FLOPs and share of the total, and its
        ops below it; "Global" first when some FLOPs ran outside every module."""
        depth = self.depth if depth is None else depth
        depth = 999999 if depth is None else depth
        total = self.get_total_flops()
        suffix = _suffix(total)
        subsumed = False

        def rows_of(name: str, level: int) -> list[list[str]]:
            nonlocal subsumed
            flops = sum(self.flop_counts[name].values())
            subsumed |= flops >= total
            pad = " " * level
            rows = [[pad + name, _with_suffix(flops, suffix), _percent(flops, total)]]
            rows += [[pad + " - " + op, _with_suffix(v, suffix), _percent(v, total)]
                     for op, v in self.flop_counts[name].items()]
            return rows

        rows: list[list[str]] = []
        for name in sorted(self.flop_counts):
            if name == "Global" or name.count(".") + 1 > depth:
                continue
            rows += rows_of(name, name.count("."))
        if "Global" in self.flop_counts and not subsumed:
            for row in rows:
                row[0] = " " + row[0]
            rows = rows_of("Global", 0) + rows
        if not rows:
            rows = [["Global", "0", "0%"]]
        return _table(["Module", "FLOP", "% Total"], rows)

    # The context ---------------------------------------------------------------------------------
    def __enter__(self) -> Self:
        self.flop_counts.clear()
        self.mod_tracker.__enter__()
        state = _watch.state
        self._previous = state.profiler
        state.profiler = self
        self._active = True
        _watch.refresh()
        return self

    def __exit__(self, *exc: object) -> None:
        state = _watch.state
        if state.profiler is self:
            state.profiler = self._previous
        self._active = False
        self._previous = None
        _watch.refresh()
        self.mod_tracker.__exit__()
        if self.display:
            print(self.get_table(self.depth))

    # The watcher's interface (Function.apply and the engine call these; autograd/profiler.py) -----------
    def _run(self, inner: Callable[[Any], Any], *args: Any) -> Any:
        """Run ``inner`` with the watcher that was active before this counter (a profiler, or none)."""
        state = _watch.state
        previous = self._previous
        state.profiler = previous
        _watch.refresh()
        try:
            return inner(previous, *args)
        finally:
            state.profiler = self if self._active else state.profiler
            _watch.refresh()

    def time_op(self, cls, args, kwargs):
        out = self._run(lambda previous: previous.time_op(cls, args, kwargs) if previous is not None
                        else cls.apply(*args, **kwargs))
        if not self._quiet:
            self._count_op(cls, args, kwargs, out)
        return out

    def time_backward(self, node, call):
        counted = self._backward_calls(node)
        if counted is not None:
            for key, shapes in counted:
                self._count(key, *shapes)
            self._quiet += 1
        try:
            previous = self._previous
            return previous.time_backward(node, call) if previous is not None else call()
        finally:
            if counted is not None:
                self._quiet -= 1

    def _add(self, name: str, start_ns: int, end_ns: int, args=()) -> None:
        """A ``record_function`` range: the profiler's, when one records around this counter."""
        if self._previous is not None and hasattr(self._previous, "_add"):
            self._previous._add(name, start_ns, end_ns, args)

    # Counting ------------------------------------------------------------------------------------
    def _count(self, key: str, *args: Any, **kwargs: Any) -> None:
        formula = self.flop_registry.get(key)
        if formula is None:
            return
        flops = int(formula(*args, **kwargs))
        for parent in set(self.mod_tracker.parents):
            self.flop_counts[parent][key] += flops

    def _count_op(self, cls, args, kwargs, out) -> None:
        ops = _ops()
        if cls is ops["matmul"]:
            a, b = args[0], args[1]
            for key, shapes in _matmul_calls(tuple(a.shape), tuple(b.shape), a.requires_grad, b.requires_grad):
                self._count(key, *shapes)
        elif cls is ops["einsum"]:
            for key, shapes in _einsum_calls(kwargs.get("inputs", ()), kwargs.get("output", ""), kwargs.get("sizes", {})):
                self._count(key, *shapes)
        elif cls is ops["linear"]:
            x, weight, bias = args[0], args[1], args[2] if len(args) > 2 else None
            rows = (math.prod(tuple(x.shape)[:-1]), x.shape[-1])
            w_t = (weight.shape[1], weight.shape[0])
            if bias is not None and x.ndim >= 2:
                self._count("aten.addmm", tuple(bias.shape), rows, w_t)
            else:
                self._count("aten.mm", rows, w_t)
        elif cls is ops["linear_backward"]:
            gy, x, weight = args[0], args[1], args[2]
            needs = kwargs.get("needs", (True, True, True))
            rows = math.prod(tuple(x.shape)[:-1])
            out_features, in_features = weight.shape
            if needs[0]:
                self._count("aten.mm", (rows, out_features), (out_features, in_features))
            if needs[1]:
                self._count("aten.mm", (out_features, rows), (rows, in_features))
        elif cls is ops["conv2d"] and isinstance(out, Tensor):
            x, weight, bias = args[0], args[1], args[2] if len(args) > 2 else None
            geometry = kwargs.get("geometry")
            self._count("aten.convolution", tuple(x.shape), tuple(weight.shape),
                        None if bias is None else tuple(bias.shape), getattr(geometry, "stride", None),
                        getattr(geometry, "pads", None), getattr(geometry, "dilation", None), False,
                        out_shape=tuple(out.shape))
        elif cls is ops["conv2d_backward"]:
            gy, x, weight = args[0], args[1], args[2]
            needs = tuple(kwargs.get("needs", (True, True, True)))
            geometry = kwargs.get("geometry")
            self._count("aten.convolution_backward", tuple(gy.shape), tuple(x.shape), tuple(weight.shape), None,
                        getattr(geometry, "stride", None), getattr(geometry, "pads", None),
                        getattr(geometry, "dilation", None), False, None, 1, needs,
                        [tuple(x.shape), tuple(weight.shape), None])

    def _backward_calls(self, node) -> list | None:
        """For a matrix product's backward node: the products its gradients are (each needed input's
        gradient counts as the forward does), counted here whole, since its plain backward multiplies
        arrays without applying ops. None for every other node (their backward ops are counted as they run)."""
        if getattr(node, "fn", None) is not _ops()["matmul"]:
            return None
        a_shape, b_shape = getattr(node, "a_shape", None), getattr(node, "b_shape", None)
        if a_shape is None or b_shape is None:
            return None
        needs = tuple(node.needs_input_grad[:2])
        calls = _matmul_calls(tuple(a_shape), tuple(b_shape), needs[0], needs[1])
        return [call for need in needs if need for call in calls]


def _suffix(number: int) -> str:
    suffixes = ["", "K", "M", "B", "T"]
    return suffixes[max(0, min(len(suffixes) - 1, (len(str(number)) - 2) // 3))]


def _with_suffix(number: int, suffix: str) -> str:
    index = ["", "K", "M", "B", "T"].index(suffix)
    return f"{number / 1000 ** index:.3f}{suffix}"


def _percent(part: int, whole: int) -> str:
    return "0%" if whole == 0 else f"{part / whole:.2%}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    """A plain-text table: the first column left-aligned, the others right-aligned, a rule under the
    header (the layout PyTorch's tabulate call gives)."""
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join([line(header), "  ".join("-" * w for w in widths)] + [line(r) for r in rows])

