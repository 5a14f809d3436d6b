"""Op-table rows: sampling (gpugrad/ops/sampling.py).

None: every sampling op has a zero gradient by definition (PyTorch's NormalBackward, BernoulliBackward,
PoissonBackward and the fills' nodes), which finite differences of a random function cannot check, so
none is in sampling.DIFFERENTIABLE. tests/test_random.py checks their gradients, results and errors.
"""
ROWS = []
