"""erf for NumPy arrays (NumPy has none), compiled once by Numba and cached on disk."""
import math

import numba


@numba.vectorize(["float32(float32)", "float64(float64)"], cache=True)
def erf(x):
    return math.erf(x)
