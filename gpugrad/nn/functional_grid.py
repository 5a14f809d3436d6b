"""F.affine_grid and F.grid_sample (spatial transformers, warps): re-exported by
``gpugrad.nn.functional``.

Both are compositions of Tensor ops. affine_grid is the base grid of normalised coordinates times the
transposed affine matrices. grid_sample maps the grid's normalised coordinates to pixel positions,
applies the padding mode to them (clamped for "border", reflected for "reflection"), and reads the
input there: nearest, bilinear (four neighbours weighted by distance) or bicubic (sixteen, weighted by
the cubic convolution kernel, each tap padded on its own), reads outside the input counting 0 with
padding "zeros". The reads are advanced indexing, so the gradient reaches the input
(summed where reads repeat) and, through the weights, the grid.
"""
from __future__ import annotations

import numpy as _np

from .. import ops as _ops
from ..errors import ArgumentError, ShapeError
from ..tensor import Tensor

__all__ = ["affine_grid", "grid_sample"]


def _base_coordinates(n: int, align_corners: bool) -> _np.ndarray:
    """The normalised coordinates of n pixel centres in [-1, 1] (corner centres at +-1 with
    ``align_corners``; else the pixel edges there)."""
    if n <= 1:
        return _np.zeros(max(n, 0))
    steps = _np.linspace(-1.0, 1.0, n)
    return steps if align_corners else steps * (n - 1) / n


def affine_grid(theta: Tensor, size, align_corners: bool | None = None) -> Tensor:
    """The sampling grid of affine maps ``theta`` (N, 2, 3) for an output of ``size`` (N, C, H, W), as
    (N, H, W, 2) (x, y) coordinates; (N, 3, 4) and (N, C, D, H, W) give (N, D, H, W, 3)."""
    align_corners = bool(align_corners)
    size = tuple(int(s) for s in size)
    spatial = len(size) - 2
    if spatial not in (2, 3):
        raise ArgumentError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, respectively. "
                            f"Got size {list(size)}.")
    if theta.ndim != 3 or tuple(theta.shape[1:]) != (spatial, spatial + 1) or theta.shape[0] != size[0]:
        raise ShapeError(f"affine_grid: expected a batch of {spatial}D affine matrices of shape "
                         f"[N, {spatial}, {spatial + 1}] for size {list(size)}. Got {list(theta.shape)}.")
    axes = [_base_coordinates(s, align_corners) for s in reversed(size[2:])]  # x first: width, height (, depth)
    mesh = _np.meshgrid(*axes, indexing="xy") if spatial == 2 else [
        m.transpose(2, 0, 1) for m in _np.meshgrid(*axes, indexing="xy")]
    base = _np.stack(list(mesh) + [_np.ones_like(mesh[0])], axis=-1).reshape(-1, spatial + 1)
    base_t = Tensor._make(theta._backend.asarray(base.astype(theta._array.dtype)), theta._backend)
    grid = base_t @ theta.mT  # (N, points, spatial)
    return grid.reshape((size[0],) + size[2:] + (spatial,))


def _unnormalize(coord: Tensor, size: int, align_corners: bool) -> Tensor:
    if align_corners:
        return (coord + 1) / 2 * (size - 1)
    return ((coord + 1) * size - 1) / 2


def _reflect(coord: Tensor, twice_low: float, twice_high: float) -> Tensor:
    """coord reflected back and forth into [twice_low / 2, twice_high / 2]."""
    if twice_low == twice_high:
        return coord * 0
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    distance = (coord - low).abs()
    extra = distance.fmod(span)
    xp = distance._backend.xp
    even = Tensor._make(xp.floor(distance._array / span) % 2 == 0, distance._backend)
    return _ops.where(even, extra + low, span - extra + low)


def _padded(coord: Tensor, size: int, padding_mode: str, align_corners: bool) -> Tensor:
    if padding_mode == "border":
        return coord.clamp(0, size - 1)
    if padding_mode == "reflection":
        reflected = _reflect(coord, 0.0, 2.0 * (size - 1)) if align_corners else _reflect(coord, -1.0, 2.0 * size - 1)
        return reflected.clamp(0, size - 1)
    return coord


def _cubic_weights(t: Tensor, a: float = -0.75) -> list:
    """The cubic convolution kernel's weights of the taps at offsets -1, 0, 1, 2 from floor(x), for the
    fraction ``t`` (PyTorch's ``get_cubic_upsample_coefficients``)."""
    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear", padding_mode: str = "zeros",
                align_corners: bool | None = None) -> Tensor:
    """``input`` (N, C, H, W) read at the normalised (x, y) positions of ``grid`` (N, Ho, Wo, 2): (N, C,
    Ho, Wo). Modes "bilinear", "nearest" and "bicubic"; padding "zeros", "border" or "reflection".
    Differentiable in the input, and in the grid for bilinear and bicubic (nearest leaves the grid out of
    the graph: its gradient is None here, zeros in PyTorch)."""
    align_corners = bool(align_corners)
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ArgumentError(f"grid_sample: mode must be 'bilinear', 'nearest' or 'bicubic', but got {mode!r}")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ArgumentError(f"grid_sample: expected padding_mode to be 'zeros', 'border', or 'reflection', but got: "
                            f"{padding_mode!r}")
    if input.ndim != 4 or grid.ndim != 4 or grid.shape[-1] != 2 or grid.shape[0] != input.shape[0]:
        raise ShapeError(f"grid_sample: expected a 4-D input (N, C, H, W) and a grid (N, H_out, W_out, 2) of the same "
                         f"batch, got input {list(input.shape)} and grid {list(grid.shape)}")
    n, _, height, width = input.shape
    xs = _padded(_unnormalize(grid[..., 0], width, align_corners), width, padding_mode, align_corners)
    ys = _padded(_unnormalize(grid[..., 1], height, align_corners), height, padding_mode, align_corners)
    xp, backend = input._backend.xp, input._backend
    batch = xp.arange(n).reshape(n, 1, 1)

    def read(x_pos, y_pos):
        """input at integer positions (arrays of grid's shape), 0 outside: (N, C, Ho, Wo)."""
        inside = (x_pos >= 0) & (x_pos <= width - 1) & (y_pos >= 0) & (y_pos <= height - 1)
        xi = xp.clip(x_pos, 0, width - 1).astype(xp.int64)
        yi = xp.clip(y_pos, 0, height - 1).astype(xp.int64)
        index = tuple(Tensor._make(i, backend) for i in (xp.broadcast_to(batch, xi.shape), yi, xi))
        values = input[index[0], :, index[1], index[2]]  # (N, Ho, Wo, C)
        mask = Tensor._make(inside[..., None].astype(input._array.dtype), backend)
        return (values * mask).permute(0, 3, 1, 2)

    if mode == "nearest":
        return read(xp.round(xs._array), xp.round(ys._array))  # round half to even, as PyTorch's nearbyint
    if mode == "bicubic":
        # PyTorch's: the 4 x 4 taps around the unpadded position, each tap's own coordinate padded, weighted
        # by the cubic convolution kernel (A = -0.75) of the fractional offsets (differentiable in the grid)
        xs = _unnormalize(grid[..., 0], width, align_corners)
        ys = _unnormalize(grid[..., 1], height, align_corners)
        x0, y0 = xp.floor(xs._array), xp.floor(ys._array)
        wx = _cubic_weights((xs - Tensor._make(x0, backend)).unsqueeze(1))
        wy = _cubic_weights((ys - Tensor._make(y0, backend)).unsqueeze(1))

        def tap(position, size):
            return _padded(Tensor._make(position, backend), size, padding_mode, align_corners)._array

        out = None
        for j in range(4):
            y_tap = tap(y0 - 1 + j, height)
            for i in range(4):
                term = read(tap(x0 - 1 + i, width), y_tap) * wx[i] * wy[j]
                out = term if out is None else out + term
        return out
    x0, y0 = xp.floor(xs._array), xp.floor(ys._array)
    wx1 = (xs - Tensor._make(x0, backend)).unsqueeze(1)
    wy1 = (ys - Tensor._make(y0, backend)).unsqueeze(1)
    wx0, wy0 = 1 - wx1, 1 - wy1
    return (read(x0, y0) * wx0 * wy0 + read(x0 + 1, y0) * wx1 * wy0 + read(x0, y0 + 1) * wx0 * wy1
            + read(x0 + 1, y0 + 1) * wx1 * wy1)
