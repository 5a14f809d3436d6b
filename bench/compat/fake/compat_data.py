"""Deterministic synthetic data shared by the fake torchvision / PIL (no downloads possible)."""
import os
import numpy as np

def n_train(): return int(os.environ.get("COMPAT_N_TRAIN", "256"))
def n_test(): return int(os.environ.get("COMPAT_N_TEST", "128"))

def class_images(n, h, w, c=None, seed=0, classes=10):
    """uint8 images whose class is learnable: a per-class blob pattern plus noise."""
    rng = np.random.RandomState(1234)
    protos = rng.rand(classes, h, w) ** 3          # fixed per-class patterns
    rng = np.random.RandomState(seed)
    y = rng.permutation(np.arange(n) % classes)      # balanced: every class present
    x = protos[y] * 200 + rng.rand(n, h, w) * 55
    x = x.clip(0, 255).astype(np.uint8)
    if c is not None:
        x = np.repeat(x[..., None], c, axis=-1)
    return x, y.astype(np.int64)
