"""``torch.nn.utils.clip_grad``: the gradient-clipping functions, defined in ``nn.utils`` itself and
re-exported here under PyTorch's module path (the underscored names are PyTorch's own aliases)."""
from . import clip_grad_norm, clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_, get_total_norm

_get_total_norm = get_total_norm
_clip_grads_with_norm_ = clip_grads_with_norm_

__all__ = ["clip_grad_norm", "clip_grad_norm_", "clip_grad_value_"]
