"""``gpugrad.functional``, torch.functional's module path, and the factories' ``out=``."""
import gpugrad as gg
import gpugrad.functional as F


def test_torch_functional_module_holds_the_top_level_functions():
    for name in F.__all__:
        assert getattr(F, name) is getattr(gg, name), name
    a, b = F.broadcast_tensors(gg.ones(2, 1), gg.ones(3))
    assert a.shape == b.shape == (2, 3)


def test_factories_write_into_out_in_its_dtype():
    target = gg.zeros(2, 2, dtype=gg.float64)
    gg.manual_seed(0)
    made = gg.rand(2, 2, out=target)
    assert made is target and target.dtype is gg.float64 and float(target.sum()) > 0
    assert gg.arange(4, out=gg.empty(0, dtype=gg.int64)).tolist() == [0, 1, 2, 3]  # resized, as PyTorch
    assert gg.full((2,), 7, out=gg.zeros(2)).tolist() == [7.0, 7.0]
