"""``torch.return_types``: the named-tuple classes of the ops that return several tensors (``max``,
``sort``, ``topk``, ``linalg_svd`` ...), under PyTorch's names and with its fields.

Each class is a tuple whose fields are also attributes (``r.values``, ``r.indices``), built as PyTorch's
struct sequences are: from one sequence, ``gg.return_types.max((values, indices))``. They flatten as
pytree nodes (``gpugrad.utils._pytree``) and pickle by class.

gpugrad's ops return named tuples of their own (gpugrad/ops/), some shared between ops: ``max``, ``min``,
``median``, ``nanmedian``, ``mode``, ``cummax`` and ``cummin`` return one class, ``sort``, ``topk`` and
``kthvalue`` another, ``qr`` and ``linalg.qr`` one, ``slogdet`` and ``linalg.slogdet`` one. Each class here
counts the results of its ops as its instances (``isinstance(gg.max(x, 0), gg.return_types.max)``), so
``isinstance`` holds wherever PyTorch's does; it also holds for the other ops sharing that class
(``isinstance(gg.sort(x), gg.return_types.topk)``, False in PyTorch). The ``*_out`` classes (what PyTorch
returns when ``out=`` is given) count only their own instances.
"""
from __future__ import annotations

import importlib
import operator
from typing import TYPE_CHECKING, Any

from .utils._pytree import register_pytree_node

if TYPE_CHECKING:
    from typing_extensions import Self  # annotations only: not a runtime dependency

# torch name -> its fields
_FIELDS: dict[str, tuple[str, ...]] = {
    "aminmax": ("min", "max"),
    "cummax": ("values", "indices"),
    "cummin": ("values", "indices"),
    "frexp": ("mantissa", "exponent"),
    "geqrf": ("a", "tau"),
    "histogram": ("hist", "bin_edges"),
    "histogramdd": ("hist", "bin_edges"),
    "kthvalue": ("values", "indices"),
    "linalg_cholesky_ex": ("L", "info"),
    "linalg_eig": ("eigenvalues", "eigenvectors"),
    "linalg_eigh": ("eigenvalues", "eigenvectors"),
    "linalg_inv_ex": ("inverse", "info"),
    "linalg_ldl_factor": ("LD", "pivots"),
    "linalg_ldl_factor_ex": ("LD", "pivots", "info"),
    "linalg_lstsq": ("solution", "residuals", "rank", "singular_values"),
    "linalg_lu": ("P", "L", "U"),
    "linalg_lu_factor": ("LU", "pivots"),
    "linalg_lu_factor_ex": ("LU", "pivots", "info"),
    "linalg_qr": ("Q", "R"),
    "linalg_slogdet": ("sign", "logabsdet"),
    "linalg_solve_ex": ("result", "info"),
    "linalg_svd": ("U", "S", "Vh"),
    "lu_unpack": ("P", "L", "U"),
    "max": ("values", "indices"),
    "median": ("values", "indices"),
    "min": ("values", "indices"),
    "mode": ("values", "indices"),
    "nanmedian": ("values", "indices"),
    "qr": ("Q", "R"),
    "slogdet": ("sign", "logabsdet"),
    "sort": ("values", "indices"),
    "svd": ("U", "S", "V"),
    "topk": ("values", "indices"),
    "triangular_solve": ("solution", "cloned_coefficient"),
}
_NO_OUT = {"histogramdd"}  # PyTorch has no histogramdd_out class

# torch name -> the gpugrad.ops class (module, attribute) its ops return today
_RETURNED_BY_OPS: dict[str, tuple[str, str]] = {
    "aminmax": ("reduce", "MinMax"),
    **{name: ("reduce", "ValuesIndices") for name in ("cummax", "cummin", "max", "median", "min", "mode", "nanmedian")},
    **{name: ("indexing", "ValuesIndices") for name in ("kthvalue", "sort", "topk")},
    "frexp": ("pointwise", "Frexp"),
    "histogram": ("indexing", "Histogram"),
    "histogramdd": ("indexing", "HistogramDD"),
    "linalg_cholesky_ex": ("linalg_extra", "CholeskyExResult"),
    "linalg_eig": ("linalg", "EigResult"),
    "linalg_eigh": ("linalg", "EighResult"),
    "linalg_inv_ex": ("linalg_lu", "InvExResult"),
    "linalg_ldl_factor": ("linalg_ldl", "LDLFactorResult"),
    "linalg_ldl_factor_ex": ("linalg_ldl", "LDLFactorExResult"),
    "linalg_lstsq": ("linalg", "LstsqResult"),
    "linalg_lu": ("linalg_lu", "LUResult"),
    "linalg_lu_factor": ("linalg_lu", "LUFactorResult"),
    "linalg_lu_factor_ex": ("linalg_lu", "LUFactorExResult"),
    "linalg_qr": ("linalg", "QRResult"),
    "qr": ("linalg", "QRResult"),
    "linalg_slogdet": ("linalg", "SlogdetResult"),
    "slogdet": ("linalg", "SlogdetResult"),
    "linalg_solve_ex": ("linalg_lu", "SolveExResult"),
    "linalg_svd": ("linalg", "SVDResult"),
    "svd": ("linalg", "SVDLegacyResult"),
    "lu_unpack": ("linalg_lu", "LUUnpackResult"),
    "triangular_solve": ("linalg_lu", "TriangularSolveResult"),
}


class _ReturnType(type):
    """The metaclass: an instance of a return type is one of its own, or a result of the ops it names."""

    _from_ops: tuple = ()

    def __instancecheck__(cls, obj: Any) -> bool:
        return type.__instancecheck__(cls, obj) or (bool(cls._from_ops) and isinstance(obj, cls._from_ops))

    def __subclasscheck__(cls, sub: type) -> bool:
        return type.__subclasscheck__(cls, sub) or (bool(cls._from_ops) and issubclass(sub, cls._from_ops))


class _StructSeq(tuple, metaclass=_ReturnType):
    """A tuple of ``n_fields`` named fields, made from one sequence (and an ignored dict), as a struct
    sequence of PyTorch's C API."""

    __slots__ = ()
    n_fields = n_sequence_fields = n_unnamed_fields = 0
    __match_args__: tuple[str, ...] = ()

    def __new__(cls, sequence, dict: dict | None = None) -> Self:
        if isinstance(sequence, (str, bytes)) or not hasattr(sequence, "__iter__"):
            raise TypeError(f"constructor requires a sequence, got {type(sequence).__name__}")
        values = tuple(sequence)
        if len(values) != cls.n_sequence_fields:
            raise TypeError(f"{cls.__module__}.{cls.__name__}() takes a {cls.n_sequence_fields}-sequence "
                            f"({len(values)}-sequence given)")
        return tuple.__new__(cls, values)

    def __repr__(self) -> str:
        fields = ",\n".join(f"{name}={value!r}" for name, value in zip(self.__match_args__, self))
        return f"{type(self).__module__}.{type(self).__name__}(\n{fields})"

    def __reduce__(self):
        return type(self), (tuple(self), {})


def _make(name: str, fields: tuple[str, ...], from_ops: tuple) -> type:
    namespace: dict[str, Any] = {name_: property(operator.itemgetter(i), doc=f"field {i}: {name_}")
                                 for i, name_ in enumerate(fields)}
    namespace.update(__slots__=(), __module__=__name__, __qualname__=name, __match_args__=fields,
                     n_fields=len(fields), n_sequence_fields=len(fields), n_unnamed_fields=0, _from_ops=from_ops,
                     __doc__=f"The result of ``{name.removesuffix('_out')}``: ({', '.join(fields)}).")
    return _ReturnType(name, (_StructSeq,), namespace)


def _op_class(name: str) -> tuple:
    where = _RETURNED_BY_OPS.get(name)
    if where is None:
        return ()
    found = getattr(importlib.import_module(f"{__package__}.ops.{where[0]}"), where[1], None)
    return (found,) if isinstance(found, type) else ()


def pytree_register_structseq(cls: type) -> None:
    """Make ``cls`` (a struct-sequence class) a pytree node: its fields are the children."""
    register_pytree_node(cls, lambda seq: (list(seq), None), lambda values, _: cls(values))


__all__ = ["all_return_types", "pytree_register_structseq"]
all_return_types: list[type] = []
for _name, _fields in _FIELDS.items():
    for _variant in (_name,) if _name in _NO_OUT else (_name, _name + "_out"):
        _cls = _make(_variant, _fields, _op_class(_variant))
        globals()[_variant] = _cls
        __all__.append(_variant)
        all_return_types.append(_cls)
        pytree_register_structseq(_cls)
del _name, _fields, _variant, _cls
