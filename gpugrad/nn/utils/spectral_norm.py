"""``torch.nn.utils.spectral_norm``: the hook-based spectral normalisation (``SpectralNorm``, the forward
pre-hook, lives in weight_norm.py beside ``weight_norm``), and PyTorch's two state-dict hooks that
``spectral_norm`` registers: one records the layout's version in the saved metadata, the other converts
a version-0 checkpoint (``weight`` saved instead of ``weight_v``) on load."""
from __future__ import annotations

from typing import TypeVar

from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from ..module import Module
from .weight_norm import SpectralNorm, remove_spectral_norm
from .weight_norm import spectral_norm as _apply_spectral_norm

__all__ = [
    "SpectralNorm",
    "SpectralNormLoadStateDictPreHook",
    "SpectralNormStateDictHook",
    "remove_spectral_norm",
    "spectral_norm",
]

T_module = TypeVar("T_module", bound=Module)
_VERSION = 1  # the layout saved: ``<name>_orig``, ``<name>_u`` and ``<name>_v``


def _solve_v_and_rescale(fn: SpectralNorm, weight_mat: Tensor, u: Tensor, target_sigma: Tensor) -> Tensor:
    """The v with u^T W v = sigma for a saved u, W and sigma: v = (W^T W)^+ W^T u, rescaled."""
    v = ((weight_mat.mT @ weight_mat).pinverse() @ weight_mat.mT @ u.unsqueeze(1)).squeeze(1)
    return v * (target_sigma / u.dot(weight_mat @ v))


class SpectralNormStateDictHook:
    """Called after a module saves its state: records ``<name>.version`` under the metadata's
    ``"spectral_norm"`` entry."""

    def __init__(self, fn: SpectralNorm) -> None:
        self.fn = fn

    def __call__(self, module: Module, state_dict: dict, prefix: str, local_metadata: dict) -> None:
        entry = local_metadata.setdefault("spectral_norm", {})
        key = self.fn.name + ".version"
        if key in entry:
            raise RuntimeError(f"Unexpected key in metadata['spectral_norm']: {key}")
        entry[key] = _VERSION


class SpectralNormLoadStateDictPreHook:
    """Called before a module loads: a state saved without a version, holding ``<name>`` and
    ``<name>_orig`` but no ``<name>_v`` (PyTorch before 1.0), gets the ``<name>_v`` that reproduces its sigma."""

    def __init__(self, fn: SpectralNorm) -> None:
        self.fn = fn

    def __call__(self, state_dict: dict, prefix: str, local_metadata: dict, strict: bool, missing_keys: list,
                 unexpected_keys: list, error_msgs: list) -> None:
        fn = self.fn
        version = local_metadata.get("spectral_norm", {}).get(fn.name + ".version")
        if version is not None and version >= 1:
            return
        weight_key = prefix + fn.name
        if (version is None and weight_key not in state_dict
                and all(weight_key + s in state_dict for s in ("_orig", "_u", "_v"))):
            return  # already the current layout, saved without metadata
        absent = [weight_key + s for s in ("_orig", "", "_u") if weight_key + s not in state_dict]
        if absent:
            if strict:
                missing_keys.extend(absent)
            return
        with no_grad():
            weight_orig = state_dict[weight_key + "_orig"]
            weight = state_dict.pop(weight_key)
            sigma = (weight_orig / weight).mean()
            matrix = fn.reshape_weight_to_matrix(weight_orig)
            state_dict[weight_key + "_v"] = _solve_v_and_rescale(fn, matrix, state_dict[weight_key + "_u"], sigma)


def spectral_norm(module: T_module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim: int | None = None) -> T_module:
    """Divide ``module.<name>`` by its largest singular value before each forward, estimated by power
    iteration on the buffers ``<name>_u`` and ``<name>_v`` (one step per training forward); the learnable
    parameter becomes ``<name>_orig``. ``dim`` defaults to 1 for the transposed convolutions, else 0.
    Returns the module."""
    _apply_spectral_norm(module, name, n_power_iterations, eps, dim)
    fn = next(h for h in module._forward_pre_hooks.values() if isinstance(h, SpectralNorm) and h.name == name)
    module._register_state_dict_hook(SpectralNormStateDictHook(fn))
    module._register_load_state_dict_pre_hook(SpectralNormLoadStateDictPreHook(fn))
    return module
