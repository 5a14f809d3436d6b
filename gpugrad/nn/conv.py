"""Conv1d, Conv2d, Conv3d and the transposed ConvTranspose1d/2d/3d: one layer over 1, 2 or 3 spatial dims."""
from __future__ import annotations

from typing import Any

from .. import factory
from ..tensor import Tensor
from . import functional as F
from . import init
from .functional_conv import _padding_nd
from .module import Module
from .parameter import Parameter

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]


_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ints(name: str, what: str, value, n: int) -> tuple:
    """An int or an n-tuple of ints, as an n-tuple."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,) * n
    value = tuple(value)
    if len(value) != n or not all(isinstance(v, int) for v in value):
        raise ValueError(f"{name}: {what} must be an int or a {n}-tuple of ints, got {value!r}")
    return value


class _ConvNd(Module):
    """The convolution layers' shared body; subclasses say how many spatial dims and which F function.

    Weight (C_out, C_in / groups, *kernel_size) and bias (C_out,) start as in PyTorch:
    kaiming_uniform_(a=sqrt(5)) and U(-1/sqrt(fan_in), 1/sqrt(fan_in)). A ``padding_mode`` other than
    "zeros" pads with ``F.pad`` first and convolves without padding, as PyTorch does.
    """

    spatial_dims = 0
    transposed = False  # a transposed layer's weight is (C_in, C_out / groups, *kernel_size)

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        name, n = type(self).__name__, self.spatial_dims
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {list(_PADDING_MODES)}, but got padding_mode={padding_mode!r}")
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: groups={groups} must divide in_channels ({in_channels}) and out_channels ({out_channels})")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _ints(name, "kernel_size", kernel_size, n)
        self.stride = _ints(name, "stride", stride, n)
        self.padding = padding if isinstance(padding, str) else _ints(name, "padding", padding, n)
        self.dilation = _ints(name, "dilation", dilation, n)
        self.groups = groups
        self.padding_mode = padding_mode
        self.output_padding = (0,) * n  # PyTorch's convolutions carry it too; the transposed ones set it
        if isinstance(padding, str) and n == 3:  # validate now, not at forward
            _padding_nd(name, padding, self.kernel_size, self.dilation, self.stride)
        elif isinstance(padding, str):
            lead = (1,) * (2 - n)
            F._conv_padding(padding, lead + self.kernel_size, lead + self.dilation, lead + self.stride)
        channels = (in_channels, out_channels // groups) if self.transposed else (out_channels, in_channels // groups)
        self.weight = Parameter(factory.empty(*channels, *self.kernel_size, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(factory.empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init._layer_default_(self.weight, self.bias)

    def _padded(self, input: Tensor) -> tuple[Tensor, Any]:
        """``input`` padded by this layer's padding mode (when not zeros) and the padding left for the
        convolution itself."""
        if self.padding_mode != "zeros":
            return F.pad(input, self._pad_widths(), mode=self.padding_mode), 0
        return input, self.padding

    def _conv_forward(self, input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        raise NotImplementedError

    def forward(self, input: Tensor) -> Tensor:
        # Through _conv_forward with the layer's own parameters, as PyTorch's convolutions: a subclass may
        # change the weight it convolves with (weight standardisation, a cast to the input's dtype).
        return self._conv_forward(input, self.weight, self.bias)

    def _forward_fused(self, input: Tensor, kind: str, param: float) -> Tensor | None:
        """forward followed by an activation, as one op (used by ``nn.Sequential``); None where the layer
        does not fuse: only a 2-D convolution with groups=1 and zero padding whose ``_conv_forward`` is
        Conv2d's own (a subclass that changes the weight it convolves with runs unfused)."""
        if type(self)._conv_forward is not Conv2d._conv_forward or self.groups != 1 or self.padding_mode != "zeros":
            return None
        return F._conv2d_activation(input, self.weight, self.bias, self.stride, self.padding, self.dilation, 1,
                                    kind, param)

    def _pad_widths(self) -> tuple:
        """F.pad's widths, last dim first, for this layer's padding ('same' splits odd totals as PyTorch)."""
        if self.padding == "valid":
            per_dim = [(0, 0)] * self.spatial_dims
        elif self.padding == "same":
            totals = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)]
            per_dim = [(t // 2, t - t // 2) for t in totals]
        else:
            per_dim = [(p, p) for p in self.padding]
        return tuple(w for pair in reversed(per_dim) for w in pair)

    def extra_repr(self) -> str:
        n = self.spatial_dims
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"  # PyTorch prints padding=same unquoted
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """1-D convolution (cross-correlation) over (N, C_in, L) inputs, as F.conv1d::

        conv = nn.Conv1d(16, 33, kernel_size=3, stride=2)
        conv(gg.randn(20, 16, 50)).shape    # (20, 33, 24)
    """

    spatial_dims = 1

    def _conv_forward(self, input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        input, padding = self._padded(input)
        padding = padding if isinstance(padding, (str, int)) else padding[0]
        return F.conv1d(input, weight, bias, self.stride[0], padding, self.dilation[0], self.groups)


class Conv2d(_ConvNd):
    """2-D convolution (cross-correlation) over (N, C_in, H, W) inputs, as F.conv2d::

        conv = nn.Conv2d(3, 8, kernel_size=3, stride=2, padding=1)
        conv(gg.randn(4, 3, 32, 32)).shape    # (4, 8, 16, 16)
    """

    spatial_dims = 2

    def _conv_forward(self, input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        input, padding = self._padded(input)
        return F.conv2d(input, weight, bias, self.stride, padding, self.dilation, self.groups)


class Conv3d(_ConvNd):
    """3-D convolution (cross-correlation) over (N, C_in, D, H, W) inputs, as F.conv3d::

        conv = nn.Conv3d(4, 8, kernel_size=3, stride=(1, 2, 2), padding=1)
        conv(gg.randn(2, 4, 5, 16, 16)).shape    # (2, 8, 5, 8, 8)
    """

    spatial_dims = 3

    def _conv_forward(self, input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        input, padding = self._padded(input)
        return F.conv3d(input, weight, bias, self.stride, padding, self.dilation, self.groups)

class _ConvTransposeNd(_ConvNd):
    """The transposed layers' shared body: PyTorch's argument order (output_padding after padding, dilation
    after bias), padding_mode "zeros" only, and forward's ``output_size`` choosing the output_padding."""

    transposed = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups: int = 1,
        bias: bool = True,
        dilation=1,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ) -> None:
        name = type(self).__name__
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {name}')
        if isinstance(padding, str):
            raise ValueError(f"{name}: padding must be an int or a tuple of ints, got {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
                         device, dtype)
        self.output_padding = _ints(name, "output_padding", output_padding, self.spatial_dims)

    def _output_padding(self, input: Tensor, output_size) -> tuple:
        """The output_padding that gives ``output_size`` (spatial dims, optionally led by batch and channel)."""
        if output_size is None:
            return self.output_padding
        name, n = type(self).__name__, self.spatial_dims
        output_size = tuple(int(v) for v in output_size)
        lead = input.ndim - n
        if len(output_size) == lead + n:
            output_size = output_size[lead:]
        if len(output_size) != n:
            raise ValueError(f"{name}: for {input.ndim}-D input, output_size must have {n} or {lead + n} elements "
                             f"(got {len(output_size)})")
        spatial = tuple(input.shape[lead:])
        smallest = [(size - 1) * s - 2 * p + d * (k - 1) + 1
                    for size, s, p, d, k in zip(spatial, self.stride, self.padding, self.dilation, self.kernel_size)]
        largest = [m + s - 1 for m, s in zip(smallest, self.stride)]
        if any(not lo <= v <= hi for v, lo, hi in zip(output_size, smallest, largest)):
            raise ValueError(f"{name}: requested an output size of {list(output_size)}, but valid sizes range from "
                             f"{smallest} to {largest} (for an input of spatial size {list(spatial)})")
        return tuple(v - m for v, m in zip(output_size, smallest))

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        if self.padding_mode != "zeros":  # set after construction
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        return self._conv_transpose(input, self._output_padding(input, output_size))

    def _conv_transpose(self, input: Tensor, output_padding: tuple) -> Tensor:
        raise NotImplementedError


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution over (N, C_in, L) inputs, as F.conv_transpose1d; weight (C_in, C_out / groups, k)::

        up = nn.ConvTranspose1d(16, 8, kernel_size=4, stride=2, padding=1)
        up(gg.randn(20, 16, 50)).shape    # (20, 8, 100)
    """

    spatial_dims = 1

    def _conv_transpose(self, input: Tensor, output_padding: tuple) -> Tensor:
        return F.conv_transpose1d(input, self.weight, self.bias, self.stride, self.padding, output_padding,
                                  self.groups, self.dilation)


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution over (N, C_in, H, W) inputs, as F.conv_transpose2d; weight
    (C_in, C_out / groups, kh, kw). ``forward(input, output_size=...)`` picks the output_padding::

        up = nn.ConvTranspose2d(16, 8, kernel_size=3, stride=2, padding=1)
        up(gg.randn(1, 16, 12, 12), output_size=(24, 24)).shape    # (1, 8, 24, 24)
    """

    spatial_dims = 2

    def _conv_transpose(self, input: Tensor, output_padding: tuple) -> Tensor:
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding, output_padding,
                                  self.groups, self.dilation)


class ConvTranspose3d(_ConvTransposeNd):
    """3-D transposed convolution over (N, C_in, D, H, W) inputs, as F.conv_transpose3d; weight
    (C_in, C_out / groups, kd, kh, kw)::

        up = nn.ConvTranspose3d(8, 4, kernel_size=2, stride=2)
        up(gg.randn(1, 8, 3, 4, 4)).shape    # (1, 4, 6, 8, 8)
    """

    spatial_dims = 3

    def _conv_transpose(self, input: Tensor, output_padding: tuple) -> Tensor:
        return F.conv_transpose3d(input, self.weight, self.bias, self.stride, self.padding, output_padding,
                                  self.groups, self.dilation)
