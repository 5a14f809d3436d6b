"""Numpy-side transforms; ToTensor returns a torch (or, under the shim, gpugrad) tensor via from_numpy."""
import numpy as np
import torch


def _arr(img):
    return np.asarray(img)


def _resize_np(a, size):  # a: HxW or HxWxC, bilinear-ish via index sampling (nearest)
    h, w = a.shape[:2]
    if isinstance(size, int):
        if h <= w:
            nh, nw = size, max(1, int(round(size * w / h)))
        else:
            nh, nw = max(1, int(round(size * h / w))), size
    else:
        nh, nw = size
    ri = (np.arange(nh) * h / nh).astype(int)
    ci = (np.arange(nw) * w / nw).astype(int)
    return a[ri][:, ci]


def _wrap_like(img, a):
    if hasattr(img, "_from_array"):
        return img._from_array(a)
    return a


class Compose:
    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x


class ToTensor:
    def __call__(self, img):
        a = _arr(img)
        if a.ndim == 2:
            a = a[:, :, None]
        a = np.ascontiguousarray(a.transpose(2, 0, 1)).astype(np.float32) / 255.0
        return torch.from_numpy(a)


class Normalize:
    def __init__(self, mean, std, inplace=False):
        self.mean, self.std = mean, std

    def __call__(self, t):
        a = t.numpy()
        c = a.shape[0]
        mean = np.broadcast_to(np.asarray(self.mean, np.float32), (c,)) if len(self.mean) in (1, c) else np.asarray(self.mean)
        std = np.broadcast_to(np.asarray(self.std, np.float32), (c,)) if len(self.std) in (1, c) else np.asarray(self.std)
        return torch.from_numpy(((a - mean[:, None, None]) / std[:, None, None]).astype(np.float32))


class Resize:
    def __init__(self, size, interpolation=None, antialias=True):
        self.size = size

    def __call__(self, img):
        if hasattr(img, "numpy") and not isinstance(img, np.ndarray) and not hasattr(img, "_from_array"):
            a = img.numpy()  # CxHxW tensor
            return torch.from_numpy(np.ascontiguousarray(_resize_np(a.transpose(1, 2, 0), self.size).transpose(2, 0, 1)))
        return _wrap_like(img, _resize_np(_arr(img), self.size))


class CenterCrop:
    def __init__(self, size):
        self.size = (size, size) if isinstance(size, int) else tuple(size)

    def __call__(self, img):
        a = _arr(img)
        h, w = a.shape[:2]
        th, tw = self.size
        i, j = max(0, (h - th) // 2), max(0, (w - tw) // 2)
        return _wrap_like(img, a[i:i + th, j:j + tw])


class Lambda:
    def __init__(self, fn):
        self.fn = fn

    def __call__(self, x):
        return self.fn(x)
