"""Conv1d and Conv2d."""
from __future__ import annotations

from .. import factory
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter


_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class Conv2d(Module):
    """2-D convolution (cross-correlation) over (N, C_in, H, W) inputs.

    Weight (C_out, C_in / groups, kh, kw) and bias (C_out,) start as in PyTorch: kaiming_uniform_(a=sqrt(5))
    and U(-1/sqrt(fan_in), 1/sqrt(fan_in))::

        conv = nn.Conv2d(3, 8, kernel_size=3, stride=2, padding=1)
        conv(gg.randn(4, 3, 32, 32)).shape    # (4, 8, 16, 16)
    """

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
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"Conv2d: padding_mode must be one of {list(_PADDING_MODES)}, but got padding_mode={padding_mode!r}")
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv2d: groups={groups} must divide in_channels ({in_channels}) and out_channels ({out_channels})")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = F._pair("Conv2d", "kernel_size", kernel_size)
        self.stride = F._pair("Conv2d", "stride", stride)
        self.padding = padding if isinstance(padding, str) else F._pair("Conv2d", "padding", padding)
        self.dilation = F._pair("Conv2d", "dilation", dilation)
        self.groups = groups
        self.padding_mode = padding_mode
        if isinstance(padding, str):
            F._conv_padding(padding, self.kernel_size, self.dilation, self.stride)  # validate now, not at forward
        self.weight = Parameter(
            factory.empty(out_channels, in_channels // groups, *self.kernel_size, device=device, dtype=dtype)
        )
        if bias:
            self.bias = Parameter(factory.empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init._layer_default_(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        if self.padding_mode != "zeros":  # pad with F.pad's mode, then convolve without padding (as PyTorch)
            padded = F.pad(input, self._pad_widths(), mode=self.padding_mode)
            return F.conv2d(padded, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def _pad_widths(self) -> tuple:
        """F.pad's (left, right, top, bottom) for this layer's padding ('same' splits odd totals as PyTorch)."""
        if self.padding == "valid":
            return (0, 0, 0, 0)
        if self.padding == "same":
            totals = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)]
            (top, bottom), (left, right) = [(t // 2, t - t // 2) for t in totals]
            return (left, right, top, bottom)
        ph, pw = self.padding
        return (pw, pw, ph, ph)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"  # PyTorch prints padding=same unquoted
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(Module):
    """1-D convolution (cross-correlation) over (N, C_in, L) inputs; weight (C_out, C_in / groups, k),
    initialised as PyTorch's. Runs as F.conv1d (conv2d over a height of one)::

        conv = nn.Conv1d(16, 33, kernel_size=3, stride=2)
        conv(gg.randn(20, 16, 50)).shape    # (20, 33, 24)
    """

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
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"Conv1d: padding_mode must be one of {list(_PADDING_MODES)}, but got padding_mode={padding_mode!r}")
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv1d: groups={groups} must divide in_channels ({in_channels}) and out_channels ({out_channels})")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = (F._single("Conv1d", "kernel_size", kernel_size),)
        self.stride = (F._single("Conv1d", "stride", stride),)
        self.padding = padding if isinstance(padding, str) else (F._single("Conv1d", "padding", padding),)
        self.dilation = (F._single("Conv1d", "dilation", dilation),)
        self.groups = groups
        self.padding_mode = padding_mode
        if isinstance(padding, str):
            F._conv_padding(padding, (1,) + self.kernel_size, (1,) + self.dilation, (1,) + self.stride)
        self.weight = Parameter(factory.empty(out_channels, in_channels // groups, *self.kernel_size, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(factory.empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init._layer_default_(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        if self.padding_mode != "zeros":
            if self.padding == "same":
                total = self.dilation[0] * (self.kernel_size[0] - 1)
                widths = (total // 2, total - total // 2)
            else:
                widths = (0, 0) if self.padding == "valid" else self.padding * 2
            padded = F.pad(input, widths, mode=self.padding_mode)
            return F.conv1d(padded, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        return F.conv1d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,):
            s += f", padding={self.padding}"
        if self.dilation != (1,):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s
