"""Tensor: a backend array, its gradient, and the graph node that made it.

The operators and math methods (``+``, ``@``, ``exp``, ``sum``, ...) are bound onto Tensor by
``gpugrad.ops``, so this module imports no op; what lives here is the data, the autograd bookkeeping
(``requires_grad``, ``grad``, hooks, version counter) and conversions.
"""
from __future__ import annotations

import weakref
from collections.abc import MutableMapping
from typing import Callable

import numpy

from . import backend as _backend_mod
from . import dtypes, layouts, printing
from .autograd import engine, function
from .autograd.function import RemovableHandle
from .autograd.grad_mode import _state as _grad_state
from .autograd.grad_mode import is_grad_enabled
from .dtypes import FLOAT_KINDS, INEXACT_KINDS
from .errors import DeviceError, DTypeError, ShapeError
from .size import Size
from .storage import TypedStorage, UntypedStorage, _address, _block, typed_storage




class _Attributed:
    """Tensor's base, whose only role is to own the slot of an instance's attribute dict: Tensor's
    ``__dict__`` is a filtered view of it (below), which still needs a way to the dict itself."""


_instance_dict = _Attributed.__dict__["__dict__"].__get__
_set_instance_dict = _Attributed.__dict__["__dict__"].__set__  # the whole dict, own state too (swap_tensors)


class Tensor(_Attributed):
    """An n-dimensional array on a device that records the operations applied to it.

    Create tensors with ``gg.tensor``, ``gg.zeros``, ``gg.randn`` and friends::

        x = gg.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = (x ** 2).sum()
        y.backward()
        x.grad          # tensor([2., 4., 6.])
    """

    __array_priority__ = 1000  # make NumPy defer to Tensor's reflected operators

    # Autograd state that most tensors never change: class attributes, so that making a tensor (every op
    # does, for every output) stores only its array, backend, version counter and, for a recorded
    # output, its node. Assigning one on a tensor shadows the default for that tensor alone.
    _node = None
    _output_index = 0
    _grad = None
    _requires_grad = False
    _base = None  # a view's root tensor (views share ``_version_ref`` with it)
    _view_version = 0  # a view: the version of its base its history was recorded at (autograd/views.py)
    _one_of_several_views = False  # a view made by an op that returns several (split, unbind, chunk)
    _hooks = None
    _post_accumulate_hooks = None
    _retains_grad = False
    _grad_sink = None  # a leaf's weak reference to where its next .grad should land (optim/flat.py)
    _inference = False  # made under gg.inference_mode(): an inference tensor (is_inference)
    # A subclass the ops' short roads take as Tensor itself (nn.Parameter: out of __torch_function__, its
    # results plain Tensors); the others leave for the general road (apply, the protocol).
    _plain = False

    @classmethod
    def _make(cls, data, backend, node=None, index=0) -> "Tensor":
        """Wrap a backend array without checks (the fast path every op uses)."""
        t = object.__new__(cls)
        t._array = data
        t._backend = backend
        t._version_ref = [0]
        if node is not None:
            t._node = node
            if index:  # 0 is the class's default
                t._output_index = index
        elif _grad_state.inference:
            t._inference = True
        return t

    def __new__(cls, *args) -> "Tensor":
        """``gg.Tensor(data)`` or ``gg.Tensor(*sizes)``: PyTorch's legacy constructor, a CPU tensor of the
        default dtype (``gg.tensor(data)`` is the modern spelling, and infers the dtype)."""
        from . import legacy
        from .default_dtype import get_default_dtype

        return legacy.construct("Tensor", get_default_dtype(), *args)

    def __init__(self, *args, **kwargs) -> None:
        pass  # everything happens in __new__ (a subclass's __new__ may take keywords of its own, as PyTorch allows)

    def __init_subclass__(cls, **kwargs) -> None:
        """A subclass takes part in PyTorch's ``__torch_function__`` protocol: the ``__torch_function__`` it
        inherits (gpugrad/overrides.py sets Tensor's) returns ops' tensors as the subclass."""
        super().__init_subclass__(**kwargs)
        from .overrides import note_subclass

        note_subclass(cls)

    # Properties ----------------------------------------------------------------------------------
    @property
    def data(self) -> "Tensor":
        """This tensor's values as a tensor outside the graph, sharing storage (PyTorch's ``.data``).

        Unlike ``detach()`` it has a version counter of its own, so in-place changes through it
        (``p.data.add_(...)``) are invisible to autograd's checks, which is what ``.data`` is for.
        Assigning ``x.data = t`` makes ``x`` hold ``t``'s values (its storage, shape and dtype).
        """
        return Tensor._make(self._array, self._backend)

    @data.setter
    def data(self, value: "Tensor") -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"data: assigned data expected to be a Tensor but got {type(value).__name__}")
        self._array = value._array
        self._backend = value._backend

    @property
    def shape(self) -> Size:
        return tuple.__new__(Size, self._array.shape)  # an array's shape is ints already: skip Size's checks

    def size(self, dim: int | None = None):
        return tuple.__new__(Size, self._array.shape) if dim is None else self._array.shape[dim]

    def stride(self, dim: int | None = None):
        """Steps in elements between neighbours along each dim (of dim ``dim``), as PyTorch's."""
        item = self._array.itemsize
        strides = tuple(s // item for s in self._array.strides)
        return strides if dim is None else strides[dim]

    def dim_order(self) -> tuple:
        """The dims from the largest stride to the smallest (``(0, 1, ..., n-1)`` for row-major memory)."""
        strides = self._array.strides
        return tuple(sorted(range(self._array.ndim), key=lambda d: -strides[d]))

    def data_ptr(self) -> int:
        """The address of the first element (host or device memory)."""
        return _address(self._array)

    def storage_offset(self) -> int:
        """How many elements into its memory block this tensor starts (a view's offset, as PyTorch's)."""
        return (_address(self._array) - _address(_block(self._array))) // max(self._array.itemsize, 1)

    def untyped_storage(self) -> UntypedStorage:
        """The memory block behind this tensor, in bytes (its address and size: gpugrad/storage.py)."""
        return UntypedStorage(self._array, self.device)

    def storage(self) -> TypedStorage:
        """The memory block behind this tensor, in elements of its dtype (deprecated, as in PyTorch)."""
        return typed_storage(self)

    def get_device(self) -> int:
        """The CUDA device index, or -1 on the CPU (PyTorch's convention)."""
        device = self._backend.device
        return -1 if device.type == "cpu" else device.index

    def is_pinned(self) -> bool:
        """False: gpugrad's host arrays are ordinary pageable memory."""
        return False

    def pin_memory(self, device=None) -> "Tensor":
        """PyTorch's copy of a CPU tensor in page-locked memory. gpugrad's host arrays are NumPy's, never
        pinned: this is a copy (``is_pinned()`` stays False), made where a GPU is present; without one
        it is refused, as PyTorch refuses it."""
        from .factory import check_pin_memory

        check_pin_memory("pin_memory", True)
        if self._backend.device.type != "cpu":
            raise RuntimeError(f"pin_memory: cannot pin a {self.device} tensor: only CPU tensors can be pinned")
        return self.clone()

    def is_shared(self) -> bool:
        """Whether this tensor's memory is shared with other processes (``share_memory_``)."""
        from .multiprocessing import shared

        return self._backend.device.type == "cpu" and shared.is_shared(self._array)

    def share_memory_(self) -> "Tensor":
        """Move this tensor's values into memory other processes map (gg.multiprocessing): what they
        write, this tensor reads, and the other way round. A no-op when already shared and on CUDA (as
        PyTorch's). A view moves the tensor it views along with it; other views made before keep the old
        memory."""
        if self._backend.device.type != "cpu" or self.is_shared():
            return self
        from .multiprocessing import shared

        if self._base is None:
            self._array = shared.shared_copy(self._array)
            return self
        base, old = self._base, self._base._array
        if not old.flags.c_contiguous:
            raise RuntimeError(f"share_memory_: this tensor (shape {tuple(self.shape)}) views a non-contiguous "
                               "tensor; share a contiguous copy")
        offset = _address(self._array) - _address(old)
        base.share_memory_()
        self._array = numpy.ndarray(self._array.shape, self._array.dtype, buffer=base._array,
                                    offset=offset, strides=self._array.strides)
        return self

    @property
    def output_nr(self) -> int:
        """Which output of its grad_fn this tensor is (0 for a leaf)."""
        return self._output_index

    @property
    def ndim(self) -> int:
        return self._array.ndim

    def ndimension(self) -> int:
        """Alias of ``dim()``."""
        return self._array.ndim

    @property
    def itemsize(self) -> int:
        """Bytes per element."""
        return self._array.itemsize

    @property
    def nbytes(self) -> int:
        """Bytes of the elements (``numel() * itemsize``)."""
        return self._array.size * self._array.itemsize

    def dim(self) -> int:
        return self._array.ndim

    def numel(self) -> int:
        return int(self._array.size)

    nelement = numel

    def element_size(self) -> int:
        return self._array.dtype.itemsize

    @property
    def dtype(self) -> dtypes.DType:
        return dtypes.of_array(self._array)

    def is_floating_point(self) -> bool:
        return self._array.dtype.kind in FLOAT_KINDS

    def is_complex(self) -> bool:
        return self._array.dtype.kind == "c"

    def is_conj(self) -> bool:
        """False: gpugrad's conj() computes the conjugate, it sets no lazy conjugation bit."""
        return False

    def is_neg(self) -> bool:
        """False: gpugrad has no lazy negation bit."""
        return False

    def is_same_size(self, other: "Tensor") -> bool:
        return tuple(self._array.shape) == tuple(other._array.shape)

    def is_nonzero(self) -> bool:
        """Whether the one element of this tensor is not zero (as ``bool(t)``)."""
        if self._array.size != 1:
            raise RuntimeError(f"is_nonzero: a tensor of {self._array.size} elements has no one truth value "
                               "(it needs exactly one element)")
        return bool(self._backend.to_numpy(self._array, "is_nonzero").reshape(()))

    def is_signed(self) -> bool:
        return self.dtype.is_signed

    @property
    def device(self) -> _backend_mod.Device:
        return self._backend.device

    @property
    def is_cuda(self) -> bool:
        return self._backend.device.type == "cuda"

    @property
    def is_cpu(self) -> bool:
        return self._backend.device.type == "cpu"

    @property
    def is_meta(self) -> bool:
        return self._backend.device.type == "meta"

    # Devices and layouts gpugrad does not have, answered as PyTorch answers for a dense CPU or CUDA tensor.
    is_xpu = is_mps = is_quantized = property(lambda self: False)
    is_sparse = False  # a class attribute (gpugrad/sparse's tensor says True): the engine reads it per gradient
    is_sparse_csr = False  # a class attribute (gpugrad/sparse/compressed.py's CSR matrices say True)
    is_nested = False  # a class attribute, not a property: F's functions ask on every call (gpugrad/nested: True)
    layout = property(lambda self: layouts.strided, doc="Dense tensors are strided (gpugrad.layouts).")

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad or self._node is not None

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    @property
    def grad(self) -> "Tensor | None":
        """The accumulated gradient (a leaf's, or a non-leaf's after ``retain_grad``); None until backward."""
        return self._grad

    @grad.setter
    def grad(self, value: "Tensor | None") -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"grad: assigned grad expected to be a Tensor or None but got {type(value).__name__}")
            if value.is_sparse:  # a sparse COO gradient (F.embedding(sparse=True)) has no dense array to compare
                _check_sparse_grad(self, value)
            elif value._array.dtype != self._array.dtype:
                raise DTypeError(f"grad: assigned grad has data of a different type ({value.dtype}) than the tensor ({self.dtype})")
            elif value._backend is not self._backend:
                raise DeviceError(f"grad: assigned grad has data located on {value.device}, the tensor on {self.device}")
            elif value._array.shape != self._array.shape:
                raise ShapeError(
                    f"grad: assigned grad has data of a different size ({tuple(value.shape)}) than the tensor ({tuple(self.shape)})"
                )
        old = self._grad
        self._grad = value
        if old is not None and old is not value and self._grad_sink is not None:
            sink = self._grad_sink()
            if sink is not None:
                sink.release(old)  # the old gradient is the caller's now: the sink must not write it again

    @grad.deleter
    def grad(self) -> None:
        """``del t.grad``: the gradient becomes None, as assigning None does (PyTorch's)."""
        self.grad = None

    @property
    def is_leaf(self) -> bool:
        return self._node is None

    @property
    def grad_fn(self):
        return self._node

    @property
    def _version(self) -> int:
        return self._version_ref[0]

    # Autograd ------------------------------------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set whether this leaf records operations for gradients. Returns self."""
        if self._node is not None:
            if not requires_grad:
                raise RuntimeError(
                    "requires_grad_: you can only change requires_grad flags of leaf variables; "
                    "use detach() to get a tensor that does not require grad"
                )
            return self
        if requires_grad and self._array.dtype.kind not in INEXACT_KINDS:
            raise DTypeError(
                f"requires_grad_: only Tensors of floating point and complex dtype can require gradients, got {self.dtype}"
            )
        self._requires_grad = bool(requires_grad)
        return self

    def detach(self) -> "Tensor":
        """A tensor sharing this one's data (and version counter) but outside the graph."""
        t = Tensor._make(self._array, self._backend)
        t._version_ref = self._version_ref
        return t

    def detach_(self) -> "Tensor":
        self._node = None
        self._requires_grad = False
        return self

    def backward(self, gradient=None, retain_graph: bool | None = None, create_graph: bool = False,
                 inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``, weighted by ``gradient``.

        ``gradient`` may be omitted for a single-element tensor. The graph's saved values are freed
        afterwards unless ``retain_graph=True``; ``create_graph=True`` records the backward pass itself so
        that the gradients can be differentiated again. With ``inputs``, only those tensors' ``.grad``
        receive their gradients.
        """
        engine.backward((self,), (gradient,) if gradient is not None else None, retain_graph, create_graph, inputs)

    def register_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned Tensor replaces it."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that doesn't require gradient")
        node = self._node
        if node is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            if node.pre_hooks is None:
                node.pre_hooks = {}
            hooks = node.pre_hooks.setdefault(self._output_index, [])
        hooks.append(hook)
        return RemovableHandle(hooks, hook)

    def register_post_accumulate_grad_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(self)`` during backward, right after this leaf's ``.grad`` has been accumulated
        (its gradient is complete then: data-parallel training starts communicating it there)."""
        if self._node is not None:
            raise RuntimeError("register_post_accumulate_grad_hook: post accumulate grad hooks cannot be registered on non-leaf tensors")
        if not self._requires_grad:
            raise RuntimeError(
                "register_post_accumulate_grad_hook: cannot register a hook on a tensor that doesn't require gradient"
            )
        if self._post_accumulate_hooks is None:
            self._post_accumulate_hooks = []
        self._post_accumulate_hooks.append(hook)
        return RemovableHandle(self._post_accumulate_hooks, hook)

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward (leaves always keep theirs)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: can't retain_grad on Tensor that has requires_grad=False")
        node = self._node
        if node is None or self._retains_grad:
            return
        if node.retained is None:
            node.retained = {}
        node.retained[self._output_index] = weakref.ref(self)
        self._retains_grad = True

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    # Conversions ---------------------------------------------------------------------------------
    def numpy(self, *, force: bool = False):
        """The data as a NumPy array (shared memory on the CPU). ``force=True`` also takes a tensor that
        requires grad (its data, detached), as PyTorch's ``t.detach().cpu().numpy()``."""
        if not force and self.requires_grad and is_grad_enabled():
            raise RuntimeError("numpy: can't call numpy() on a Tensor that requires grad; use tensor.detach().numpy()")
        return self._backend.to_numpy(self._array, "numpy")

    def __array__(self, dtype=None, copy=None):
        array = self._backend.to_numpy(self._array, "__array__")
        return array if dtype is None else array.astype(dtype)

    def __array_wrap__(self, array, context=None, return_scalar=False):
        """A NumPy function given this tensor first returns a CPU tensor, as PyTorch's (``np.choose(t, a)``,
        ``np.sin(t)``); a bool result comes back as uint8, as there."""
        from .factory import from_numpy
        from .overrides import handle_torch_function, has_torch_function_unary

        if has_torch_function_unary(self):
            return handle_torch_function(Tensor.__array_wrap__, (self,), self, array=array)
        if array.dtype == bool:
            array = array.astype("uint8")
        return from_numpy(array)

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        """Export for ``numpy.from_dlpack`` / ``cupy.from_dlpack`` / ``torch.from_dlpack`` (shared memory)."""
        if self.requires_grad:
            raise RuntimeError("__dlpack__: can't export a tensor that requires grad; use tensor.detach()")
        given = {"stream": stream, "max_version": max_version, "dl_device": dl_device, "copy": copy}
        return self._array.__dlpack__(**{k: v for k, v in given.items() if v is not None})

    def __dlpack_device__(self) -> tuple[int, int]:
        return self._array.__dlpack_device__()

    @property
    def __cuda_array_interface__(self) -> dict:
        """A CUDA tensor's memory for Numba, CuPy and others (absent on CPU tensors, as in PyTorch)."""
        interface = getattr(self._array, "__cuda_array_interface__", None)
        if interface is None:
            raise AttributeError(f"__cuda_array_interface__: a tensor on {self.device} has no CUDA memory")
        if self.requires_grad:
            raise RuntimeError("__cuda_array_interface__: can't export a tensor that requires grad; use tensor.detach()")
        return interface

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._array.size != 1:
            raise ShapeError(f"item: a Tensor with {self._array.size} elements cannot be converted to a Python scalar")
        if self._backend is not _backend_mod.cpu:  # a device read: refused during a graph capture
            return self._backend.to_numpy(self._array, "item").reshape(()).item()
        return self._array.reshape(()).item()

    def tolist(self):
        return self._backend.to_numpy(self._array, "tolist").tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._array.dtype.kind not in "iu" or self._array.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self) -> bool:
        if self._array.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self._array.size} elements is ambiguous")
        return bool(self.item())

    def __contains__(self, element) -> bool:
        """``element in t``: whether any element of ``t`` equals it (a number or a tensor, as PyTorch)."""
        if not isinstance(element, (Tensor, int, float, complex, bool)):
            raise RuntimeError(f"Tensor.__contains__ only supports Tensor or scalar, but you passed in a "
                               f"{type(element).__name__}.")
        return bool((self == element).any().item())

    def __len__(self) -> int:
        if self._array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._array.shape[0]

    def __iter__(self):
        if self._array.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._array.shape[0]))

    __hash__ = object.__hash__

    @property
    def __dict__(self) -> "_Attributes":
        """The attributes set on this tensor from outside gpugrad (``p._is_hf_initialized = True``), as
        PyTorch's ``__dict__``: its own state (array, backend, autograd links) is not among them, so that
        ``type(p)(p.to("meta"), **p.__dict__)`` (accelerate's and peft's init_empty_weights) rebuilds a
        Parameter as it does in PyTorch. A live view: what is written through it is an attribute."""
        return _Attributes(_instance_dict(self))

    @__dict__.setter
    def __dict__(self, attributes) -> None:
        """``t.__dict__ = d``: ``d``'s entries become the tensor's attributes, in place of those it had; its own
        state stays (it cannot be set this way)."""
        new = dict(attributes)
        own = sorted(set(new) & _OWN_STATE)
        if own:
            raise KeyError(f"{own[0]!r} is gpugrad's own state of the tensor, not an attribute to set through __dict__")
        d = _instance_dict(self)
        for name in [name for name in d if name not in _OWN_STATE]:
            del d[name]
        d.update(new)

    def as_subclass(self, cls: type) -> Tensor:
        """This tensor as an instance of ``cls`` (a Tensor subclass), sharing its memory and recorded as a view
        of it, so gradients flow back through it (PyTorch's ``as_subclass``). ``cls.__init__`` is not run."""
        if not (isinstance(cls, type) and issubclass(cls, Tensor)):
            raise TypeError("as_subclass: creating a Tensor subclass from a class that does not inherit from "
                            f"Tensor is not possible, got {cls!r}")
        from .ops.shape import Reshape

        alias = Reshape.apply_one(self, shape=tuple(self._array.shape))  # a recorded view, even of the same shape
        out = cls._make(alias._array, alias._backend)
        _instance_dict(out).update(_instance_dict(alias))  # the view's autograd links and version counter
        return out

    @staticmethod
    def _make_subclass(cls: type, data: Tensor, require_grad: bool = False, dispatch_strides: bool = False,
                       dispatch_device: bool = False, device_for_backend_keys=None) -> Tensor:
        """PyTorch's way for a subclass's ``__new__`` to wrap ``data`` (``nn.Parameter``'s): a leaf of class
        ``cls`` sharing ``data``'s memory and version counter, outside its graph, requiring grad as asked."""
        if not (isinstance(cls, type) and issubclass(cls, Tensor)):
            raise TypeError("_make_subclass: creating a Tensor subclass from a class that does not inherit from "
                            f"Tensor is not possible, got {cls!r}")
        out = cls._make(data._array, data._backend)
        out._version_ref = data._version_ref
        if require_grad:
            out.requires_grad_(True)
        return out

    def __reduce_ex__(self, protocol):
        """How ``pickle`` and ``copy.copy`` take a tensor apart: its values, device, class and attributes
        (gpugrad/pickling.py), as PyTorch's. Checkpoints are ``gg.save``'s safetensors, never pickles."""
        from .pickling import reduce_tensor

        return reduce_tensor(self)

    def __deepcopy__(self, memo: dict) -> "Tensor":
        """A copy with memory of its own (``copy.deepcopy``, as of a model); graph leaves only, as PyTorch."""
        if self._node is not None:
            raise RuntimeError(
                "deepcopy: only tensors created explicitly by the user (graph leaves) support the deepcopy "
                "protocol; use detach() first"
            )
        copied = memo.get(id(self))
        if copied is None:
            copied = memo[id(self)] = type(self)._make(self._array.copy(), self._backend)
            copied._requires_grad = self._requires_grad
            if self._grad is not None:
                copied._grad = self._grad.__deepcopy__(memo)
        return copied

    def __repr__(self) -> str:
        grad_fn = None if self._node is None else f"{self._node.fn.__name__}Backward"
        if self._backend.device.type == "meta":  # no values to show: PyTorch's "..." and the size
            return printing.meta_repr(tuple(self._array.shape), self.dtype, grad_fn, self._requires_grad)
        return printing.tensor_repr(
            self._backend.to_numpy(self._array, "print"), self.dtype, str(self.device), grad_fn, self._requires_grad
        )

    def __format__(self, format_spec: str) -> str:
        """A 0-d tensor formats as its value (``f"{loss:.4f}"``); others only with an empty spec, as PyTorch."""
        if self._array.ndim == 0:
            return self.item().__format__(format_spec)
        return object.__format__(self, format_spec)


function._bind_tensor_class(Tensor)

# Tensor's own state: what every tensor sets (array, backend, version counter) and every private name the
# class gives a default to (autograd links, hooks, views' bookkeeping): never among ``__dict__``'s attributes.
_OWN_STATE = frozenset({"_array", "_backend", "_version_ref"}
                       | {name for name in vars(Tensor) if name.startswith("_") and not name.endswith("__")})


class _Attributes(MutableMapping):
    """A live view of a tensor's attribute dict without gpugrad's own state (``Tensor.__dict__``)."""

    __slots__ = ("_dict",)

    def __init__(self, d: dict) -> None:
        self._dict = d

    def __getitem__(self, name):
        if name in _OWN_STATE:
            raise KeyError(name)
        return self._dict[name]

    def __setitem__(self, name, value) -> None:
        if name in _OWN_STATE:
            raise KeyError(f"{name!r} is gpugrad's own state of the tensor, not an attribute to set through __dict__")
        self._dict[name] = value

    def __delitem__(self, name) -> None:
        if name in _OWN_STATE:
            raise KeyError(name)
        del self._dict[name]

    def __iter__(self):
        return iter([name for name in self._dict if name not in _OWN_STATE])

    def __len__(self) -> int:
        return sum(1 for name in self._dict if name not in _OWN_STATE)

    def copy(self) -> dict:
        return dict(self)

    def __repr__(self) -> str:
        return repr(dict(self))


def _check_sparse_grad(t: Tensor, grad: Tensor) -> None:
    """The grad setter's checks for a sparse gradient: the tensor's dtype, device and size."""
    if grad.dtype is not t.dtype:
        raise DTypeError(f"grad: assigned grad has data of a different type ({grad.dtype}) than the tensor ({t.dtype})")
    if grad._backend is not t._backend:
        raise DeviceError(f"grad: assigned grad has data located on {grad.device}, the tensor on {t.device}")
    if tuple(grad.shape) != t._array.shape:
        raise ShapeError(f"grad: assigned grad has data of a different size ({tuple(grad.shape)}) than the tensor "
                         f"({tuple(t.shape)})")


# PyTorch's module-level forms of a few Tensor questions ------------------------------------------
def is_tensor(obj) -> bool:
    """Whether ``obj`` is a gpugrad Tensor (a Parameter too)."""
    return isinstance(obj, Tensor)


def is_floating_point(input: Tensor) -> bool:
    return input.is_floating_point()


def is_complex(input: Tensor) -> bool:
    return input.is_complex()


def numel(input: Tensor) -> int:
    return input.numel()


def is_nonzero(input: Tensor) -> bool:
    return input.is_nonzero()


def is_conj(input: Tensor) -> bool:
    return input.is_conj()


def is_neg(input: Tensor) -> bool:
    return input.is_neg()


def is_same_size(input: Tensor, other: Tensor) -> bool:
    return input.is_same_size(other)


