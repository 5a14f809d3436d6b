"""``torch.nn.utils.parametrizations``: ``orthogonal``, ``weight_norm`` and ``spectral_norm`` built on
``parametrize.register_parametrization`` (the modern forms; ``nn.utils.weight_norm`` and
``nn.utils.spectral_norm`` are the older hook-based ones).

``orthogonal`` takes real weights: its unitary (complex) case is not there yet, and says so.
"""
from __future__ import annotations

from enum import Enum, auto

import numpy

from ... import factory, linalg, ops
from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from .. import functional as F
from ..module import Module
from . import parametrize
from .weight_norm import norm_except_dim

__all__ = ["orthogonal", "spectral_norm", "weight_norm"]


def _is_orthogonal(Q: Tensor) -> bool:
    n, k = Q.shape[-2], Q.shape[-1]
    eye = factory.eye(k, dtype=Q.dtype, device=Q.device)
    eps = 10.0 * n * float(numpy.finfo(Q._array.dtype).eps)
    return bool(ops.allclose(Q.mT @ Q, eye, atol=eps))


def _make_orthogonal(A: Tensor) -> Tensor:
    """The Q of A = QR (A tall) with diag(R) >= 0: QR's Q with each column's sign fixed by R's diagonal."""
    Q, R = linalg.qr(A)
    return Q * R.diagonal(dim1=-2, dim2=-1).sgn().unsqueeze(-2)


def _householder_product(A: Tensor, tau: Tensor) -> Tensor:
    """The first n columns of H_1 ... H_k, H_i = I - tau_i v_i v_i^T, v_i column i of A below the
    diagonal with a 1 on it (``torch.linalg.householder_product``). gg.linalg's version when it has
    one; else composed from differentiable ops, applying the reflectors right to left to I[:, :n]."""
    native = getattr(linalg, "householder_product", None)
    if native is not None:
        return native(A, tau)
    m, n = A.shape[-2], A.shape[-1]
    k = tau.shape[-1]
    V = A.tril(-1) + factory.eye(m, n, dtype=A.dtype, device=A.device)
    Q = factory.eye(m, n, dtype=A.dtype, device=A.device).expand(*A.shape[:-2], m, n)
    for i in reversed(range(k)):
        v = V[..., :, i : i + 1]
        Q = Q - tau[..., i : i + 1].unsqueeze(-1) * (v @ (v.mT @ Q))
    return Q


def _geqrf(A: Tensor) -> tuple[Tensor, Tensor]:
    """LAPACK's geqrf (``torch.geqrf``): R on and above the diagonal, the Householder vectors below,
    and tau. Computed on the host by NumPy's raw QR (no gradient: right_inverse runs under no_grad)."""
    host = A._backend.to_numpy(A._array)
    h, tau = numpy.linalg.qr(host, mode="raw")  # h is the transpose of LAPACK's column-major output
    X = factory.tensor(numpy.ascontiguousarray(numpy.swapaxes(h, -1, -2)), dtype=A.dtype, device=A.device)
    return X, factory.tensor(tau, dtype=A.dtype, device=A.device)


class _OrthMaps(Enum):
    matrix_exp = auto()
    cayley = auto()
    householder = auto()


class _Orthogonal(Module):
    """The parametrization of ``orthogonal``: a matrix (or batch) with orthonormal columns (rows, when
    wide) from an unconstrained one, through the skew-symmetric part of its lower triangle (matrix
    exponential or Cayley map) or Householder reflectors. With ``use_trivialization`` the result is
    left-multiplied by a buffer ``base`` that ``right_inverse`` sets (dynamic trivialization)."""

    def __init__(self, weight: Tensor, orthogonal_map: _OrthMaps, *, use_trivialization: bool = True) -> None:
        super().__init__()
        if weight.is_complex():
            raise ValueError("orthogonal: complex (unitary) weights are not supported by gpugrad yet; use real weights")
        self.shape = tuple(weight.shape)
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X: Tensor) -> Tensor:
        n, k = X.shape[-2], X.shape[-1]
        transposed = n < k
        if transposed:  # work on the tall form; transposed back at the end
            X = X.mT
            n, k = k, n
        if self.orthogonal_map in (_OrthMaps.matrix_exp, _OrthMaps.cayley):
            X = X.tril()
            if n != k:  # pad to square with zero columns: A's extra block is then fixed at zero
                X = ops.cat([X, factory.zeros(*X.shape[:-2], n, n - k, dtype=X.dtype, device=X.device)], dim=-1)
            A = X - X.mT
            if self.orthogonal_map == _OrthMaps.matrix_exp:
                Q = linalg.matrix_exp(A)
            else:
                eye = factory.eye(n, dtype=A.dtype, device=A.device)
                Q = linalg.solve(eye - 0.5 * A, eye + 0.5 * A)
            if n != k:
                Q = Q[..., :k]
        else:
            A = X.tril(-1)
            tau = 2.0 / (1.0 + (A * A).sum(dim=-2))
            Q = _householder_product(A, tau)
            # PyTorch's signs: the diagonal truncated to an integer (+-1 as right_inverse leaves it).
            Q = Q * X.diagonal(dim1=-2, dim2=-1).detach().trunc().unsqueeze(-2)
        if hasattr(self, "base"):
            Q = self.base @ Q
        if transposed:
            Q = Q.mT
        return Q

    def right_inverse(self, Q: Tensor) -> Tensor:
        """An X with forward(X) = Q: with trivialization, ``base`` becomes Q (orthogonalised, and
        completed to square by random columns when Q is not square) and X the one giving base itself;
        without it (Householder only), X holds Q's Householder vectors."""
        with no_grad():
            if tuple(Q.shape) != self.shape:
                raise ValueError(
                    f"Expected a matrix or batch of matrices of shape {self.shape}. Got a tensor of shape {tuple(Q.shape)}."
                )
            Q_init = Q
            n, k = Q.shape[-2], Q.shape[-1]
            transpose = n < k
            if transpose:
                Q = Q.mT
                n, k = k, n
            if not hasattr(self, "base"):
                if self.orthogonal_map in (_OrthMaps.cayley, _OrthMaps.matrix_exp):
                    raise NotImplementedError(
                        "It is not possible to assign to the matrix exponential or the Cayley parametrizations when "
                        "use_trivialization=False."
                    )
                A, tau = _geqrf(Q)
                # forward multiplies column j by trunc(diag_j): store the sign of R's diagonal there, negated
                # where the reflector is the identity (tau = 0), as PyTorch does.
                signs = A.diagonal(dim1=-2, dim2=-1).sign() * (1.0 - 2.0 * (tau == 0.0).to(A.dtype))
                on_diag = factory.eye(n, k, dtype=A.dtype, device=A.device)
                A = A * (1.0 - on_diag) + on_diag * signs.unsqueeze(-2)
                return A.mT if transpose else A
            if n == k:
                Q = Q.clone() if _is_orthogonal(Q) else _make_orthogonal(Q)
            else:
                extra = factory.randn(*Q.shape[:-2], n, n - k, dtype=Q.dtype, device=Q.device)
                Q = _make_orthogonal(ops.cat([Q, extra], dim=-1))
            self.base = Q
            # X = -I: its skew part is 0 (exp / Cayley give I) and its diagonal -1 gives Householder's I
            # (tau = 2, v = e_i: H_i = I - 2 e_i e_i^T, times -1 on column i).
            rows, cols = Q_init.shape[-2], Q_init.shape[-1]
            neg_eye = -factory.eye(rows, cols, dtype=Q_init.dtype, device=Q_init.device)
            return neg_eye.expand(*Q_init.shape).clone()


def orthogonal(module: Module, name: str = "weight", orthogonal_map: str | None = None, *,
               use_trivialization: bool = True) -> Module:
    """Keep ``module.<name>`` (a matrix or batch of matrices) orthogonal: orthonormal columns when it
    is tall or square, orthonormal rows when it is wide, whatever the optimizer does to its original.

    ``orthogonal_map``: "matrix_exp", "cayley" or "householder"; by default "matrix_exp" for square
    matrices and "householder" otherwise. ``use_trivialization`` keeps a ``base`` buffer (the dynamic
    trivialization framework); without it only "householder" accepts assignment. Returns ``module``.
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.ndim < 2:
        raise ValueError(f"Expected a matrix or batch of matrices. Got a tensor of {weight.ndim} dimensions.")
    if orthogonal_map is None:
        orthogonal_map = "matrix_exp" if weight.shape[-2] == weight.shape[-1] or weight.is_complex() else "householder"
    orth_enum = getattr(_OrthMaps, orthogonal_map, None) if isinstance(orthogonal_map, str) else None
    if orth_enum is None:
        raise ValueError(f'orthogonal_map has to be one of "matrix_exp", "cayley", "householder". Got: {orthogonal_map}')
    orth = _Orthogonal(weight, orth_enum, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module


class _WeightNorm(Module):
    """The parametrization of ``weight_norm``: weight = g v / |v| from (g, v) = (original0, original1),
    norms over every dim but ``dim`` (over all dims for ``dim=None``)."""

    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return weight_v * (weight_g / norm_except_dim(weight_v, 2, self.dim))

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        return norm_except_dim(weight, 2, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Weight normalisation as a parametrization: ``module.<name>`` = g v / |v|, with g stored as
    ``parametrizations.<name>.original0`` and v as ``original1`` (norms per slice of ``dim``; over the
    whole tensor for ``dim=None``). Returns ``module``.

    A state_dict saved from the hook-based ``nn.utils.weight_norm`` (keys ``<name>_g`` / ``<name>_v``)
    loads too, its keys renamed by a load pre-hook as PyTorch's.
    """
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)

    def rename_hook_based_keys(state_dict, prefix, *_):
        for old, new in (("_g", "original0"), ("_v", "original1")):
            if prefix + name + old in state_dict:
                state_dict[f"{prefix}parametrizations.{name}.{new}"] = state_dict.pop(prefix + name + old)

    module._register_load_state_dict_pre_hook(rename_hook_based_keys)
    return module


class _SpectralNorm(Module):
    """The parametrization of ``spectral_norm``: weight / sigma, sigma estimated as u^T W v with the
    power-iteration vectors kept in buffers ``_u`` and ``_v`` (advanced ``n_power_iterations`` steps
    on each read in training mode). A 1-D weight is simply normalised."""

    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12) -> None:
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [-{ndim}, {ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError(
                f"Expected n_power_iterations to be positive, but got n_power_iterations={n_power_iterations}"
            )
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            weight_mat = self._reshape_weight_to_matrix(weight.detach())
            h, w = weight_mat.shape
            u = factory.randn(h, dtype=weight.dtype, device=weight.device)
            v = factory.randn(w, dtype=weight.dtype, device=weight.device)
            self.register_buffer("_u", F.normalize(u, dim=0, eps=self.eps))
            self.register_buffer("_v", F.normalize(v, dim=0, eps=self.eps))
            # Start from good estimates of the top singular vectors rather than random ones.
            self._power_method(weight_mat, 15)

    def _reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        if self.dim != 0:
            weight = weight.permute(self.dim, *(d for d in range(weight.ndim) if d != self.dim))
        return weight.flatten(1)

    def _power_method(self, weight_mat: Tensor, n_power_iterations: int) -> None:
        # In place, so that the buffers stay the same tensors (state_dict, Module.to).
        with no_grad():
            for _ in range(n_power_iterations):
                self._u.copy_(F.normalize(ops.mv(weight_mat, self._v), dim=0, eps=self.eps))
                self._v.copy_(F.normalize(ops.mv(weight_mat.mT, self._u), dim=0, eps=self.eps))

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        weight_mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(weight_mat, self.n_power_iterations)
        # Copies: the graph must keep these values whatever the next power iteration writes.
        u, v = self._u.clone(), self._v.clone()
        sigma = ops.vdot(u, ops.mv(weight_mat, v))
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim: int | None = None) -> Module:
    """Spectral normalisation as a parametrization: ``module.<name>`` = W / sigma(W), sigma the largest
    singular value of W reshaped to (size of ``dim``, rest), estimated by power iteration whose vectors
    are the buffers ``parametrizations.<name>.0._u`` / ``._v``. ``dim`` is 1 for the transposed
    convolutions and 0 otherwise by default. Returns ``module``."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        from ..conv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d

        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)) else 0
    parametrize.register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
