"""gpugrad: a define-by-run autograd engine with fused Numba kernels for the CPU and NVIDIA GPUs.

    import gpugrad as gg
    x = gg.randn(3, requires_grad=True)
    y = (x.tanh() * x).sum()
    y.backward()
    print(x.grad)
"""
import math as _math_module
import sys as _sys

from . import _blas_spin  # noqa: F401 - first: NumPy, and with it OpenBLAS, loaded with a short idle spin
from . import _vector_width  # noqa: F401 - before Numba: its CPU code in 512-bit vectors on AVX-512
from . import accelerator, autograd, backend, cuda, dtypes, host_memory, linalg, numpy_warnings
from .autograd import Function, enable_grad, grad, inference_mode, no_grad, set_grad_enabled
from .autograd.anomaly import is_anomaly_check_nan_enabled, is_anomaly_enabled, set_anomaly_enabled
from .autograd.grad_mode import is_grad_enabled, is_inference_mode_enabled
from .backend import Device as device
from .dtypes import bool_ as bool
from .dtypes import DType as dtype  # the class of gg.float32 and the others, as torch.dtype
from .default_device import get_default_device, set_default_device
from .determinism import (are_deterministic_algorithms_enabled, get_deterministic_debug_mode,
                          is_deterministic_algorithms_warn_only_enabled, set_deterministic_debug_mode,
                          use_deterministic_algorithms)
from .default_dtype import get_default_dtype, set_default_dtype
from .dtypes import (bfloat16, complex64, complex128, finfo, float8_e4m3fn, float8_e5m2, float16, float32, float64,
                     iinfo, int8, int16, int32, int64, promote_types, uint8, uint16, uint32, uint64)
from .dtypes import UNSUPPORTED as _UNSUPPORTED_DTYPES
from .errors import ArgumentError, CaptureError, DeviceError, DTypeError, OutOfMemoryError, ShapeError
from .factory import (
    arange,
    as_tensor,
    bartlett_window,
    blackman_window,
    empty,
    empty_like,
    empty_permuted,
    eye,
    from_numpy,
    full,
    full_like,
    hamming_window,
    hann_window,
    kaiser_window,
    linspace,
    logspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    tril_indices,
    triu_indices,
    zeros,
    zeros_like,
)
from .ops import *  # noqa: F401,F403  (every op as gg.<name>)
from .ops import __all__ as _ops_all
from .ops._operands import result_type
from .legacy import (
    BoolTensor,
    ByteTensor,
    CharTensor,
    DoubleTensor,
    FloatTensor,
    HalfTensor,
    IntTensor,
    LongTensor,
    ShortTensor,
)
from .layouts import (channels_last, channels_last_3d, contiguous_format, jagged, layout, memory_format,
                      preserve_format, sparse_coo, strided)
from .printing import set_printoptions
from .serialization import load, save
from .file_reader import PyTorchFileReader
from .random import Generator, default_generator, get_rng_state, initial_seed, manual_seed, set_rng_state
from .size import Size
from .storage import TypedStorage, UntypedStorage
from .streams import Event, Stream
from .tensor import (Tensor, is_complex, is_conj, is_floating_point, is_neg, is_nonzero, is_same_size, is_tensor,
                     numel)
from .threads import get_num_threads, set_num_threads

host_memory.keep_freed_memory()  # a step's arrays reuse freed memory instead of paging fresh memory in
numpy_warnings.silence_numpy_warnings()  # inf and NaN without a warning, as PyTorch

from . import backends, data, distributed, nn, onnx, optim, utils  # noqa: E402  (after the ops are bound: nn builds on them)
from . import amp, compiler, distributions, fft, func, fx, hub, jit, masked, multiprocessing, profiler, sparse, special, testing, types  # noqa: E402  (distributions builds on nn.functional)
from .jit import ScriptFunction, ScriptModule  # noqa: E402  (torch.ScriptModule: type hints and isinstance checks)
from . import _C, _custom_ops, _dynamo, _higher_order_ops, _inductor, _utils, ao, library, overrides, quantization  # noqa: E402,F401,E501  (torch._C, torch._dynamo ...)
from ._higher_order_ops import cond, while_loop  # noqa: E402,F401  (torch.cond, torch.while_loop)
from . import functional  # noqa: E402  (torch.functional: a module of top-level functions)
from . import __config__, cpu, version  # noqa: E402
from . import futures  # noqa: E402
from .futures import Future  # noqa: E402  (torch.Future)
from . import quasirandom, return_types, signal, torch_version  # noqa: E402  (torch.quasirandom, torch.return_types ...)
from .foreach import *  # noqa: E402,F401,F403  (torch._foreach_add_ and the other list ops)
from .func import vmap  # noqa: E402
from .sparse import spmm, sparse_coo_tensor  # noqa: E402
from .sparse.compressed import sparse_csc, sparse_csc_tensor, sparse_csr, sparse_csr_tensor  # noqa: E402
from .sparse.compressed import _convert_indices_from_coo_to_csr, _convert_indices_from_csr_to_coo  # noqa: E402,F401
from .sparse.coo import dsmm  # noqa: E402  (torch.dsmm: sparse times dense, as gpytorch calls it)
from .top_level import *  # noqa: E402,F401,F403  (torch's top-level copies of functional ops and methods)
from .top_level_aten import *  # noqa: E402,F401,F403  (native_layer_norm, convolution, embedding_bag ...)
from . import einops_backend as _einops_backend  # noqa: E402

_einops_backend.register()  # einops' rearrange / reduce on gpugrad tensors, when einops is installed
from .amp import GradScaler, autocast, get_autocast_dtype, is_autocast_enabled  # noqa: E402
from .amp.autocast_mode import (autocast_decrement_nesting, autocast_increment_nesting,  # noqa: E402,F401
                                 clear_autocast_cache, is_autocast_cache_enabled, set_autocast_cache_enabled,
                                 set_autocast_dtype, set_autocast_enabled)
from .cuda import amp as _cuda_amp  # noqa: E402,F401  (gg.cuda.amp, as torch.cuda.amp; after gg.amp)
from .backends.cuda import get_float32_matmul_precision, set_float32_matmul_precision  # noqa: E402
from .compiler import compile  # noqa: E402
from .utils.dlpack import from_dlpack  # noqa: E402
from . import nested  # noqa: E402,F401  (last: a nested tensor refuses every Tensor method bound before it)

pi = _math_module.pi
e = _math_module.e
inf = _math_module.inf
nan = _math_module.nan
newaxis = None
_segment_reduce = segment_reduce  # noqa: F405  (torch._segment_reduce is torch.segment_reduce itself)

float = float32
double = float64
cfloat = complex64
cdouble = complex128
half = float16
long = int64
int = int32
short = int16
char = int8
byte = uint8
# The sub-byte names (uint1 ... uint7, int1 ... int7) beside the other dtypes gpugrad has no tensors of yet
globals().update({name: dtype for name, dtype in _UNSUPPORTED_DTYPES.items() if name not in globals()})

__version__ = torch_version.__version__  # PyTorch 2.13's API, gpugrad 0.1.0 (version.py); compares as a version (torch_version.py)
torch = _sys.modules[__name__]  # torch.torch is torch itself (a name its own `import torch` leaves behind)

overrides.make_overridable(globals())  # the top level's own ops (gg.numel ...): calls may go to __torch_function__
overrides.route_tensor_methods()  # last, once every method is bound
