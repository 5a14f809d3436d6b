"""Conv2d."""
from __future__ import annotations


from .. import factory
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter


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
        if padding_mode != "zeros":
            raise NotImplementedError(f"Conv2d: padding_mode {padding_mode!r} is not implemented in gpugrad; only 'zeros' is")
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
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding!r}" if isinstance(self.padding, str) else f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s
