"""Every op PyTorch describes in its OpInfo database, run on PyTorch's own sample inputs under PyTorch and
under gpugrad, values and gradients compared: a sweep of exactness over the arguments PyTorch's tests
choose (odd shapes, 0-d and empty tensors, negative dims, keyword forms), where our op table checks
derivatives on shapes of our choosing.

    python bench/compat/opinfo_sweep.py                      # every op, float64, values and gradients
    python bench/compat/opinfo_sweep.py --dtypes float32 int64 bool --no-grad
    python bench/compat/opinfo_sweep.py add nn.functional.conv2d --verbose
    python bench/compat/opinfo_sweep.py --reference          # PyTorch's larger reference_inputs too

Needs PyTorch (the CPU build is enough) and `expecttest` (torch.testing._internal imports it). The op
database is read from the installed PyTorch at run time; nothing of it is copied here.

Each sample's outcome: ok; `inexact` (values within 10x PyTorch's default tolerance of
torch.testing.assert_close, not within 1x); `mismatch` (dtype, shape or values beyond that; for random
ops, shape and dtype alone are compared); `raises` (gpugrad raised where PyTorch did not); `missing` (no
gpugrad function of that name). Samples PyTorch itself refuses, and samples holding what gpugrad does not
model (sparse layouts, generators), are not counted. The first failing sample of each op is printed with
its error or difference, the counts per op go to --json.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
import types
import warnings

import numpy as np

# Ops whose values are random draws or uninitialised memory: their results are compared by shape and dtype.
RANDOM = {
    "bernoulli", "normal", "multinomial", "rand_like", "randn_like", "randint_like", "randint", "randn", "rand",
    "uniform", "cauchy", "exponential", "geometric", "log_normal", "empty", "empty_like", "new_empty",
    "new_empty_strided", "empty_strided", "empty_permuted", "svd_lowrank", "pca_lowrank", "native_dropout",
    "nn.functional.dropout", "nn.functional.dropout2d", "nn.functional.dropout3d", "nn.functional.alpha_dropout",
    "nn.functional.feature_alpha_dropout", "nn.functional.rrelu", "nn.functional.fractional_max_pool2d",
    "nn.functional.fractional_max_pool3d", "nn.functional.gumbel_softmax", "normal.number_mean",
}
# Ops whose results are defined up to a sign or phase (singular and eigenvectors): compared after the
# sample's own output_process_fn_grad, which PyTorch's tests use to make them unique.
AMBIGUOUS = {"linalg.svd", "svd", "linalg.eig", "linalg.eigh", "eig"}
# Ops that read the input's storage (its strides and offset), which the sweep's copies do not keep.
STORAGE = {"as_strided", "as_strided_copy", "as_strided_scatter"}
# PyTorch's default tolerances in torch.testing.assert_close, by dtype name: (rtol, atol).
TOLERANCE = {"float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5),
             "float64": (1e-7, 1e-7), "complex64": (1.3e-6, 1e-5), "complex128": (1e-7, 1e-7)}


class Skip(Exception):
    """A sample holding what the sweep does not compare (sparse layouts, generators)."""


class Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise Timeout()


# ---------------------------------------------------------------------------------------------- conversion
def to_gg(value, torch, gg):
    """PyTorch's value as gpugrad's: tensors (a fresh leaf each, keeping requires_grad), dtypes, devices,
    layouts, memory formats and Sizes by name; containers element by element."""
    if isinstance(value, torch.Tensor):
        if value.layout != torch.strided or value.is_quantized or getattr(value, "is_nested", False):
            raise Skip(f"a {value.layout} tensor")
        t = value.detach()
        if t.dtype == torch.bfloat16:
            out = gg.from_numpy(t.float().numpy().copy()).to(gg.bfloat16)
        else:
            out = gg.from_numpy(np.array(t.resolve_conj().resolve_neg().numpy(), order="C"))  # ascontiguousarray makes 0-d 1-d
        if value.requires_grad:
            out.requires_grad_(True)
        return out
    if isinstance(value, torch.dtype):
        return getattr(gg, str(value).split(".")[-1])
    if isinstance(value, torch.device):
        return gg.device(str(value))
    if isinstance(value, torch.Size):
        return gg.Size(value)
    if isinstance(value, torch.memory_format):
        return getattr(gg, str(value).split(".")[-1])
    if isinstance(value, torch.layout):
        return getattr(gg, str(value).split(".")[-1])
    if isinstance(value, torch.Generator):
        raise Skip("a Generator")
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(to_gg(v, torch, gg) for v in value))
    if isinstance(value, (list, tuple)):
        return type(value)(to_gg(v, torch, gg) for v in value)
    if isinstance(value, dict):
        return {k: to_gg(v, torch, gg) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and type(value).__module__.startswith("torch"):  # an options object
        name = type(value).__name__
        twin = getattr(gg.nn, name, None) or getattr(gg, name, None)
        if twin is None:
            raise Skip(f"no gpugrad {name}")
        return twin(**{f.name: to_gg(getattr(value, f.name), torch, gg) for f in dataclasses.fields(value)})
    if isinstance(value, types.FunctionType) and value.__module__.startswith("torch.testing"):
        return gg_twin(value, torch, gg)  # a function argument written in the test module (a distance, say)
    if isinstance(value, torch.nn.Module):  # a layer as an argument (a distance): its twin, same settings
        twin = getattr(gg.nn, type(value).__name__, None)
        if twin is None or any(True for _ in value.parameters()) or any(True for _ in value.buffers()):
            raise Skip(f"a {type(value).__name__} module")
        module = twin.__new__(twin)
        gg.nn.Module.__init__(module)
        module.__dict__.update({k: v for k, v in vars(value).items() if not k.startswith("_")})
        return module
    if callable(value) and not isinstance(value, type) and (getattr(value, "__module__", None) or "").startswith("torch"):
        for space in (gg, gg.nn.functional):  # one of torch's functions as an argument
            if hasattr(space, value.__name__):
                return getattr(space, value.__name__)
        raise Skip(f"no gpugrad {value.__name__}")
    return value


def leaves(value, tensor_type, out=None):
    """The tensors requiring grad inside ``value``, in order."""
    out = [] if out is None else out
    if isinstance(value, tensor_type):
        if value.requires_grad:
            out.append(value)
    elif isinstance(value, (list, tuple)):
        for v in value:
            leaves(v, tensor_type, out)
    elif isinstance(value, dict):
        for v in value.values():
            leaves(v, tensor_type, out)
    return out


def plain(value, torch, gg):
    """A result as comparable plain data: ('tensor', dtype name, shape, float64/complex128 array),
    lists for sequences, Python scalars as (type name, value)."""
    for T in (torch.Tensor, gg.Tensor):
        if isinstance(value, T):
            t = value.detach()
            name = str(t.dtype).split(".")[-1]
            if name == "bfloat16":
                t = t.float()
            arr = np.asarray(t.numpy(force=True) if T is torch.Tensor else t.numpy())  # conj, neg, zero tensors
            return ("tensor", name, tuple(arr.shape), arr)
    if isinstance(value, (list, tuple)):
        return [plain(v, torch, gg) for v in value]
    if isinstance(value, (torch.dtype, gg.dtype)):
        return ("dtype", str(value).split(".")[-1])
    if isinstance(value, (bool, int, float, complex)):
        return (type(value).__name__, value)
    if isinstance(value, (torch.Size, gg.Size)):
        return ("size", tuple(value))
    return ("other", repr(value))


def difference(a, b, random: bool) -> tuple[str, str] | None:
    """None when PyTorch's ``a`` and gpugrad's ``b`` agree; else ('inexact' | 'mismatch', why)."""
    if isinstance(a, list) or isinstance(b, list):
        if not (isinstance(a, list) and isinstance(b, list)) or len(a) != len(b):
            return "mismatch", f"structure {_shape_of(a)} vs {_shape_of(b)}"
        worst = None
        for i, (x, y) in enumerate(zip(a, b)):
            d = difference(x, y, random)
            if d is not None and (worst is None or d[0] == "mismatch"):
                worst = (d[0], f"[{i}] {d[1]}")
                if d[0] == "mismatch":
                    break
        return worst
    if a[0] != b[0]:
        return "mismatch", f"{a[0]} vs {b[0]} ({a[1]!r} vs {b[1]!r})"
    if a[0] != "tensor":
        if a[0] in ("float", "complex") and not random:
            if a[1] == b[1] or (a[1] != a[1] and b[1] != b[1]):
                return None
            rtol, atol = TOLERANCE["float64"]
            if abs(a[1] - b[1]) <= atol + rtol * abs(a[1]):
                return None
            return "mismatch", f"{a[1]!r} vs {b[1]!r}"
        return None if (a[1] == b[1] or random) else ("mismatch", f"{a[1]!r} vs {b[1]!r}")
    _, dt_a, shape_a, x = a
    _, dt_b, shape_b, y = b
    if dt_a != dt_b:
        return "mismatch", f"dtype {dt_a} vs {dt_b}"
    if shape_a != shape_b:
        return "mismatch", f"shape {shape_a} vs {shape_b}"
    if random or x.size == 0:
        return None
    if x.dtype.kind in "biu":
        bad = x != y
        if not bad.any():
            return None
        i = np.flatnonzero(bad)[0]
        return "mismatch", f"{int(bad.sum())} of {x.size} differ, first at {np.unravel_index(i, x.shape)}: {x.flat[i]} vs {y.flat[i]}"
    rtol, atol = TOLERANCE.get(dt_a, TOLERANCE["float64"])
    x = x.astype(np.complex128 if x.dtype.kind == "c" else np.float64)
    y = y.astype(np.complex128 if y.dtype.kind == "c" else np.float64)
    same = (x == y) | (np.isnan(x) & np.isnan(y))
    with np.errstate(invalid="ignore", divide="ignore"):  # inf - inf where one side is inf
        err = np.where(same, 0.0, np.abs(x - y))
        err = np.where(np.isnan(err), np.inf, err)
        bound = np.where(same, np.inf, atol + rtol * np.abs(x))
        if (err <= bound).all():
            return None
        i = int(np.argmax(np.where(err <= bound, 0.0, np.where(np.isfinite(x), err / bound, np.inf))))
    where = np.unravel_index(i, x.shape) if x.ndim else ()
    why = f"worst at {where}: {x.flat[i]!r} vs {y.flat[i]!r} ({int((err > bound).sum())} of {x.size} outside)"
    return ("inexact" if (err <= 10 * bound).all() else "mismatch"), why


def _shape_of(v):
    return f"list[{len(v)}]" if isinstance(v, list) else v[0]


# ------------------------------------------------------------------------------------------ the gg callable
def gg_twin(fn, torch, gg):
    """gpugrad's version of a function PyTorch's OpInfo calls: a function written in the test module
    (a lambda, say) runs again with its torch globals and closure cells read as gpugrad's."""
    def mapped(value):
        if isinstance(value, types.ModuleType) and value.__name__.split(".")[0] == "torch":
            name = "gpugrad" + value.__name__[len("torch"):]
            try:
                __import__(name)
                return sys.modules[name]
            except ImportError:
                return value
        return value

    code_globals = {k: mapped(v) for k, v in fn.__globals__.items()}
    closure = None
    if fn.__closure__:
        closure = tuple(types.CellType(mapped(c.cell_contents)) for c in fn.__closure__)
    return types.FunctionType(fn.__code__, code_globals, fn.__name__, fn.__defaults__, closure)


def resolve(op, torch, gg):
    """The gpugrad callable for an OpInfo, or None."""
    fn = op.op
    if isinstance(fn, types.FunctionType) and fn.__module__.startswith("torch.testing"):
        return gg_twin(fn, torch, gg)
    obj = gg
    for part in op.name.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            break
    if obj is not None and callable(obj):
        return obj
    method = getattr(op.method_variant, "__name__", None)
    if method and hasattr(gg.Tensor, method):
        return lambda x, *args, **kwargs: getattr(x, method)(*args, **kwargs)
    return None


# --------------------------------------------------------------------------------------------- one sample
def draws(op, sample) -> bool:
    """Whether the sample's values are random draws: a random op, or attention with dropout on."""
    if op.name in RANDOM or op.full_name in RANDOM:
        return True
    if op.name == "nn.functional.scaled_dot_product_attention":
        return sample.kwargs.get("dropout_p", 0.0) > 0
    if op.name == "nn.functional.multi_head_attention_forward":  # (query, key, value, ..., dropout_p, ...)
        return sample.args[9] > 0 and sample.kwargs.get("training", True)
    return False


def run_sample(op, fn, sample, torch, gg, grad: bool, seed: int):
    """None when the sample agrees; else (kind, why). Raises Skip for a sample not compared."""
    random = draws(op, sample)
    args_t = (sample.input, *sample.args)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.manual_seed(seed)
            out_t = op.op(*args_t, **sample.kwargs)
    except Exception as exc:
        raise Skip(f"PyTorch raises {type(exc).__name__}") from exc
    args_g = to_gg(args_t, torch, gg)
    kwargs_g = to_gg(sample.kwargs, torch, gg)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gg.manual_seed(seed)
            out_g = fn(*args_g, **kwargs_g)
    except Timeout:
        raise
    except Exception as exc:  # noqa: BLE001  (any error of gpugrad's is the sample's outcome)
        return "raises", f"{type(exc).__name__}: {str(exc)[:200]}"
    process = sample.output_process_fn_grad
    process_g = gg_twin(process, torch, gg) if isinstance(process, types.FunctionType) else process
    try:
        compared = (process(out_t), process_g(out_g)) if op.name in AMBIGUOUS else (out_t, out_g)
    except Exception as exc:  # noqa: BLE001  (as above)
        return "raises", f"output_process_fn_grad: {type(exc).__name__}: {str(exc)[:200]}"
    d = difference(plain(compared[0], torch, gg), plain(compared[1], torch, gg), random)
    if d is not None:
        return d
    if not grad or random:
        return None
    inputs_t = leaves(args_t, torch.Tensor) + leaves(sample.kwargs, torch.Tensor)
    if not inputs_t:
        return None
    outs_t = process(out_t)
    outs_t = outs_t if isinstance(outs_t, (list, tuple)) else [outs_t]
    # Outputs are paired by position; one that requires grad under PyTorch alone (slogdet's sign, an op
    # whose derivative PyTorch leaves unimplemented) is left out on both sides.
    try:
        outs_g = process_g(out_g)
    except Exception as exc:  # noqa: BLE001  (as above)
        return "raises", f"output_process_fn_grad: {type(exc).__name__}: {str(exc)[:200]}"
    outs_g = outs_g if isinstance(outs_g, (list, tuple)) else [outs_g]
    pairs = [(a, b) for a, b in zip(outs_t, outs_g) if isinstance(a, torch.Tensor) and a.requires_grad
             and isinstance(b, gg.Tensor) and b.requires_grad]
    if not pairs:
        return None
    outs_t, outs_g = [a for a, _ in pairs], [b for _, b in pairs]
    rng = np.random.default_rng(seed)
    cots = [torch.from_numpy(np.asarray(rng.standard_normal(tuple(o.shape)) * (1 + 1j if o.is_complex() else 1))).to(o.dtype)
            for o in outs_t]  # made by PyTorch, then copied bit for bit: both sides start from the same cotangent
    try:
        grads_t = torch.autograd.grad(outs_t, inputs_t, cots, allow_unused=True)
    except Exception as exc:
        raise Skip(f"PyTorch's backward raises {type(exc).__name__}") from exc
    if any(g is None and i.is_leaf and i._base is not None for g, i in zip(grads_t, inputs_t)):
        raise Skip("a leaf view: PyTorch's autograd.grad gives it no gradient")
    inputs_g = leaves(args_g, gg.Tensor) + leaves(kwargs_g, gg.Tensor)
    try:
        grads_g = gg.autograd.grad(outs_g, inputs_g, [to_gg(c, torch, gg) for c in cots], allow_unused=True)
    except Timeout:
        raise
    except Exception as exc:  # noqa: BLE001  (as above)
        return "raises", f"backward: {type(exc).__name__}: {str(exc)[:200]}"
    zero_t = [torch.zeros_like(i) if g is None else g for g, i in zip(grads_t, inputs_t)]
    zero_g = [gg.zeros_like(i) if g is None else g for g, i in zip(grads_g, inputs_g)]
    d = difference(plain(zero_t, torch, gg), plain(zero_g, torch, gg), False)
    return None if d is None else (d[0], "gradient " + d[1])


# ------------------------------------------------------------------------------------------------- driver
def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("names", nargs="*", help="op names (OpInfo.name or full_name); default: all")
    p.add_argument("--dtypes", nargs="+", default=["float64"])
    p.add_argument("--no-grad", action="store_true", help="values only")
    p.add_argument("--reference", action="store_true", help="PyTorch's reference_inputs (more, larger samples)")
    p.add_argument("--timeout", type=int, default=60, help="seconds per op and dtype")
    p.add_argument("--json", help="write the counts per op here")
    p.add_argument("--verbose", action="store_true", help="every failing sample, not only the first")
    args = p.parse_args(argv)

    import torch
    from torch.testing._internal.common_methods_invocations import op_db

    import gpugrad as gg

    torch.set_num_threads(1)
    ops = [o for o in op_db if not args.names or o.name in args.names or o.full_name in args.names]
    signal.signal(signal.SIGALRM, _alarm)
    totals: dict[str, int] = {}
    report = {}
    for op in ops:
        if op.name in STORAGE:
            continue
        fn = resolve(op, torch, gg)
        for dtype_name in args.dtypes:
            dtype = getattr(torch, dtype_name)
            if dtype not in op.supported_dtypes("cpu"):
                continue
            key = f"{op.full_name} {dtype_name}"
            counts: dict[str, int] = {}
            first = None
            if fn is None:
                counts["missing"] = 1
                first = "no gpugrad function of this name"
            else:
                grad = not args.no_grad and op.supports_autograd and dtype in op.supported_backward_dtypes("cpu")
                signal.alarm(args.timeout)
                try:
                    make = op.reference_inputs if args.reference else op.sample_inputs
                    for i, sample in enumerate(make("cpu", dtype, requires_grad=grad)):
                        try:
                            result = run_sample(op, fn, sample, torch, gg, grad, seed=i)
                        except Skip:
                            continue
                        kind = "ok" if result is None else result[0]
                        counts[kind] = counts.get(kind, 0) + 1
                        if result is not None and (first is None or args.verbose):
                            line = f"{result[1]}  <- {sample.summary() if hasattr(sample, 'summary') else sample}"[:600]
                            first = line if first is None else first
                            if args.verbose:
                                print(f"  {key}: {result[0]}: {line}")
                except Timeout:
                    counts["timeout"] = counts.get("timeout", 0) + 1
                except Exception as exc:  # noqa: BLE001  (the sample generator itself: the op's count says so)
                    counts["error"] = counts.get("error", 0) + 1
                    first = first or f"sweep error {type(exc).__name__}: {str(exc)[:200]}"
                finally:
                    signal.alarm(0)
            report[key] = {"counts": counts, "first": first}
            for k, v in counts.items():
                totals[k] = totals.get(k, 0) + v
            bad = {k: v for k, v in counts.items() if k != "ok"}
            if bad:
                print(f"{key}: {counts}  {first}", flush=True)
    ops_bad = sum(1 for r in report.values() if any(k != "ok" for k in r["counts"]))
    print(f"\n{len(report)} op/dtype pairs, {ops_bad} with a failing sample; samples: {totals}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
