"""HalfNormal and HalfCauchy are TransformedDistributions of Normal and Cauchy through AbsTransform, as
PyTorch's: libraries tell the kinds of distribution apart by class (gpytorch's priors)."""
import pytest

import gpugrad as gg

D = gg.distributions


@pytest.mark.parametrize("cls, base", [(D.HalfNormal, D.Normal), (D.HalfCauchy, D.Cauchy)])
def test_folded_distributions_are_transformed_ones(cls, base):
    d = cls(gg.tensor([1.0, 2.0]))
    assert isinstance(d, D.TransformedDistribution) and isinstance(d.base_dist, base)
    assert len(d.transforms) == 1 and isinstance(d.transforms[0], D.transforms.AbsTransform)
    wide = d.expand((3, 2))
    assert type(wide) is cls and wide.batch_shape == (3, 2) and wide.scale.shape == (3, 2)
    assert bool((d.rsample((5,)) >= 0).all())
    unchecked = cls(gg.tensor([1.0, 2.0]), validate_args=False)
    assert unchecked.log_prob(gg.tensor([-1.0, 1.0]))[0].item() == float("-inf")


def test_the_same_class_tree_as_pytorch():
    torch = pytest.importorskip("torch")
    for name in ("HalfNormal", "HalfCauchy"):
        ours = [c.__name__ for c in getattr(D, name).__mro__ if c.__name__ != "_Folded"]
        theirs = [c.__name__ for c in getattr(torch.distributions, name).__mro__]
        assert ours == theirs
