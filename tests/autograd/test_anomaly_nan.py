"""detect_anomaly on a NaN gradient as PyTorch's: 'Function ... returned nan values in its Nth output.',
after a UserWarning 'Error detected in ...' that gives the line which made the op; the gradient it came
from need not be finite."""
import numpy as np
import pytest

import gpugrad as gg


def test_a_nan_gradient_raises_pytorchs_error_after_its_warning():
    x = gg.ones(2, requires_grad=True)
    with gg.autograd.detect_anomaly():
        y = x * gg.tensor(float("nan"))  # a NaN operand: no forward report (its input is not finite)
        with pytest.warns(UserWarning, match=r"(?s)Error detected in MulBackward\. Traceback of forward call.*"
                                             r"test_anomaly_nan\.py"), \
                pytest.raises(RuntimeError, match=r"Function 'MulBackward' returned nan values in its 0th output\."):
            y.sum().backward()


def test_the_output_index_is_the_inputs_position():
    x = gg.ones(2, requires_grad=True)
    with gg.autograd.detect_anomaly(), np.errstate(all="ignore"):
        y = gg.tensor([np.nan, 1.0]) * x
        with pytest.warns(UserWarning), pytest.raises(RuntimeError, match="in its 1th output"):
            y.sum().backward()


@pytest.mark.torch
def test_as_pytorch():
    torch = pytest.importorskip("torch")
    x = torch.ones(2, requires_grad=True)
    with torch.autograd.detect_anomaly():
        y = torch.tensor([float("nan"), 1.0]) * x
        with pytest.warns(UserWarning, match="Error detected in MulBackward0"), \
                pytest.raises(RuntimeError, match="returned nan values in its 1th output"):
            y.sum().backward()
