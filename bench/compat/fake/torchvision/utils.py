def make_grid(tensor, nrow=8, padding=2, normalize=False, **kw):
    assert tensor.dim() in (3, 4), tensor.shape
    return tensor


def save_image(tensor, fp, nrow=8, padding=2, normalize=False, **kw):
    """No-op that checks the shape (N,C,H,W) or (C,H,W)."""
    shape = tuple(tensor.shape)
    assert len(shape) in (3, 4) and shape[-3] in (1, 3), shape
