"""Fake PIL.Image: 'images' are .npy bytes under an image file name (written by make_data.py)."""
import numpy as np


class Image:
    def __init__(self, a, mode):
        self._a, self.mode = a, mode

    def __array__(self, dtype=None, copy=None):
        return self._a if dtype is None else self._a.astype(dtype)

    @property
    def size(self):
        return (self._a.shape[1], self._a.shape[0])

    def _from_array(self, a):
        return Image(np.ascontiguousarray(a), self.mode)

    def copy(self):
        return Image(self._a.copy(), self.mode)

    def convert(self, mode):
        if mode == self.mode:
            return self.copy()
        assert self.mode == "RGB" and mode == "YCbCr"
        r, g, b = [self._a[..., i].astype(np.float64) for i in range(3)]
        y = 0.299 * r + 0.587 * g + 0.114 * b
        cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
        cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
        return Image(np.stack([y, cb, cr], -1).clip(0, 255).astype(np.uint8), "YCbCr")

    def split(self):
        return tuple(Image(np.ascontiguousarray(self._a[..., i]), "L") for i in range(self._a.shape[2]))


def open(fp):
    a = np.load(fp)
    return Image(a, "RGB" if a.ndim == 3 else "L")


def fromarray(a, mode=None):
    return Image(np.asarray(a), mode or ("RGB" if np.asarray(a).ndim == 3 else "L"))
