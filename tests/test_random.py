"""Random sampling: reproducibility with manual_seed and generators, argument errors as PyTorch's,
gradients as PyTorch's, and the distributions (fixed seeds, moments within a few standard errors)."""
import math

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.errors import DTypeError, ShapeError

N = 40_000  # draws per distribution check

FILL_ARGS = {"uniform_": (-2, 3), "normal_": (1.0, 2.0), "bernoulli_": (0.3,), "exponential_": (2.0,),
             "random_": (-4, 9), "geometric_": (0.25,), "log_normal_": (0.5, 0.75), "cauchy_": (1.0, 0.5)}

DRAWS = {
    "normal_tensors": lambda g: gg.normal(gg.zeros(5), gg.ones(5) * 2, generator=g),
    "normal_numbers": lambda g: gg.normal(1.0, 3.0, (2, 3), generator=g),
    "bernoulli": lambda g: gg.bernoulli(gg.full((16,), 0.5), generator=g),
    "bernoulli_p": lambda g: gg.bernoulli(gg.zeros(16), 0.5, generator=g),
    "multinomial": lambda g: gg.multinomial(gg.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]), 4, generator=g),
    "multinomial_replacement": lambda g: gg.multinomial(gg.tensor([[1.0, 2.0], [3.0, 4.0]]), 16, True, generator=g),
    "poisson": lambda g: gg.poisson(gg.full((6,), 4.0), generator=g),
    "randint_like": lambda g: gg.randint_like(gg.zeros(6), 3, 10, generator=g),
    "rand_like": lambda g: gg.rand_like(gg.zeros(6), generator=g),
    "randn_like": lambda g: gg.randn_like(gg.zeros(6), generator=g),
}
for _name, _args in FILL_ARGS.items():
    DRAWS[_name] = lambda g, _name=_name, _args=_args: getattr(gg.zeros(16), _name)(*_args, generator=g)


# Reproducibility -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(DRAWS))
def test_manual_seed_repeats_the_draw_and_the_stream_moves_on(name):
    gg.manual_seed(123)
    first = DRAWS[name](None).numpy()
    second = DRAWS[name](None).numpy()
    gg.manual_seed(123)
    np.testing.assert_array_equal(DRAWS[name](None).numpy(), first)
    assert not np.array_equal(first, second)


@pytest.mark.parametrize("name", sorted(DRAWS))
def test_a_generator_is_a_stream_of_its_own(name):
    a = DRAWS[name](gg.Generator().manual_seed(99)).numpy()
    b = DRAWS[name](gg.Generator(seed=99)).numpy()
    np.testing.assert_array_equal(a, b)
    gg.manual_seed(7)
    expected = gg.rand(3).numpy()
    gg.manual_seed(7)
    DRAWS[name](gg.Generator(seed=99))
    np.testing.assert_array_equal(gg.rand(3).numpy(), expected)  # the default stream was not touched


def test_the_generator_state_restores_the_stream():
    g = gg.Generator(seed=5)
    state = g.get_state()
    first = gg.zeros(4).normal_(generator=g).numpy()
    g.set_state(state)
    np.testing.assert_array_equal(gg.zeros(4).normal_(generator=g).numpy(), first)


def test_fork_rng_puts_the_stream_back_after_the_block():
    gg.manual_seed(11)
    expected = gg.randn(3).numpy(), gg.rand(2).numpy()
    gg.manual_seed(11)
    with gg.random.fork_rng():
        inside = gg.randn(3).numpy()
        gg.manual_seed(99)  # even a reseed inside is undone
        gg.rand(5)
    np.testing.assert_array_equal(inside, expected[0])  # the block starts from the state it forked
    np.testing.assert_array_equal(gg.randn(3).numpy(), expected[0])
    np.testing.assert_array_equal(gg.rand(2).numpy(), expected[1])
    assert gg.initial_seed() == 11
    gg.manual_seed(11)
    with pytest.raises(KeyError):
        with gg.random.fork_rng(devices=[]):
            gg.randn(4)
            raise KeyError("inside")
    np.testing.assert_array_equal(gg.randn(3).numpy(), expected[0])


def test_fork_rng_disabled_or_on_meta_forks_nothing_and_checks_the_device_type():
    gg.manual_seed(3)
    first = gg.randn(2).numpy()
    gg.manual_seed(3)
    with gg.random.fork_rng(enabled=False):
        gg.randn(2)
    assert not np.array_equal(gg.randn(2).numpy(), first)
    gg.manual_seed(3)
    with gg.random.fork_rng(device_type="meta"):
        gg.randn(2)
    assert not np.array_equal(gg.randn(2).numpy(), first)
    with pytest.raises(RuntimeError, match="nope"):
        with gg.random.fork_rng(device_type="nope"):
            pass


def test_fork_rng_behaves_as_pytorchs():
    torch = pytest.importorskip("torch")
    for lib in (torch, gg):
        lib.manual_seed(4)
        plain = [lib.randn(2).tolist() for _ in range(2)]
        lib.manual_seed(4)
        with lib.random.fork_rng(devices=[]):
            inside = lib.randn(2).tolist()
        assert inside == plain[0] and [lib.randn(2).tolist() for _ in range(2)] == plain
        with pytest.raises(RuntimeError):
            with lib.random.fork_rng(device_type="nope"):
                pass


# Gradients and graphs --------------------------------------------------------------------------------------
def test_normal_of_tensors_has_zero_gradients_as_pytorch():
    mean = gg.tensor([1.0, 2.0], requires_grad=True)
    std = gg.tensor([0.5, 2.0], requires_grad=True)
    y = gg.normal(mean, std)
    assert y.requires_grad and y.grad_fn is not None
    (y * gg.tensor([3.0, -1.0])).sum().backward()
    assert mean.grad.tolist() == [0.0, 0.0] and std.grad.tolist() == [0.0, 0.0]
    assert gg.normal(mean, 1.0).requires_grad and gg.normal(0.0, std).requires_grad
    assert not gg.normal(0.0, 1.0, (3,)).requires_grad
    assert gg.normal(0.0, 1.0, (3,), requires_grad=True).requires_grad


@pytest.mark.torch
def test_which_draws_require_grad_matches_pytorch():
    torch = pytest.importorskip("torch")
    ours = gg.tensor([0.2, 0.7], requires_grad=True)
    theirs = torch.tensor([0.2, 0.7], requires_grad=True)
    for call in (lambda m, x: m.normal(x, 1.0), lambda m, x: m.normal(x, x), lambda m, x: m.bernoulli(x),
                 lambda m, x: m.bernoulli(x, 0.5), lambda m, x: m.poisson(x * 3), lambda m, x: m.multinomial(x, 1),
                 lambda m, x: m.rand_like(x), lambda m, x: m.randint_like(x, 4)):
        assert call(gg, ours).requires_grad == call(torch, theirs).requires_grad
    for name, args in FILL_ARGS.items():
        assert getattr(ours * 2, name)(*args).requires_grad == getattr(theirs * 2, name)(*args).requires_grad


def test_bernoulli_and_poisson_have_zero_gradients():
    p = gg.tensor([0.2, 0.7, 3.0], requires_grad=True)
    (gg.bernoulli(p[:2]).sum() + gg.poisson(p).sum()).backward()
    assert p.grad.tolist() == [0.0, 0.0, 0.0]


def test_an_inplace_fill_refuses_a_leaf_that_requires_grad_and_records_on_a_non_leaf():
    leaf = gg.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="uniform_: a leaf Variable that requires grad"):
        leaf.uniform_()
    y = leaf * 2
    y.normal_()
    assert y.requires_grad
    y.sum().backward()
    assert leaf.grad.tolist() == [0.0, 0.0, 0.0]
    x = gg.zeros(3)
    version = x._version
    x.exponential_()
    assert x._version == version + 1


def test_fills_keep_shape_dtype_and_return_self():
    for dtype in (gg.float16, gg.float32, gg.float64):
        x = gg.zeros(2, 3, dtype=dtype)
        for name, args in FILL_ARGS.items():
            assert getattr(x, name)(*args) is x and x.dtype is dtype and tuple(x.shape) == (2, 3)
    for dtype in (gg.uint8, gg.int8, gg.int32, gg.int64, gg.bool):
        x = gg.zeros(5, dtype=dtype)
        assert x.random_().dtype is dtype and x.bernoulli_(0.5).dtype is dtype
    assert gg.zeros(0).uniform_().shape == (0,) and gg.zeros(()).normal_().shape == ()


def test_result_dtypes():
    assert gg.normal(gg.zeros(2, dtype=gg.float64), gg.ones(2)).dtype is gg.float64
    assert gg.normal(gg.zeros(2), gg.ones(2, dtype=gg.float64)).dtype is gg.float32  # mean's dtype
    assert gg.normal(0.0, gg.ones(2, dtype=gg.float64)).dtype is gg.float64
    assert gg.normal(0, 1, (2,), dtype=gg.half).dtype is gg.float16
    assert gg.normal(gg.zeros(2, 1), gg.ones(3)).shape == (2, 3)
    assert gg.bernoulli(gg.zeros(3, dtype=gg.int64), 0.5).dtype is gg.int64
    assert gg.multinomial(gg.ones(3), 2).dtype is gg.int64
    assert gg.randint_like(gg.zeros(3), 4).dtype is gg.float32
    assert gg.randint_like(gg.zeros(3), 4, dtype=gg.int8).dtype is gg.int8
    assert gg.multinomial(gg.ones(0, 3), 2).shape == (0, 2)


def test_out_is_written():
    out = gg.zeros(4)
    assert gg.normal(gg.zeros(4), 1.0, out=out) is out and out._version == 1
    indices = gg.zeros(2, dtype=gg.int64)
    gg.multinomial(gg.tensor([0.0, 1.0]), 2, replacement=True, out=indices)
    assert indices.tolist() == [1, 1]


# Argument errors ------------------------------------------------------------------------------------------
ERRORS = [  # (case, call on gg or torch, what our message says: the op first)
    ("normal std < 0", lambda m: m.normal(m.zeros(2), m.tensor([-1.0, 1.0])), "normal: .*std >= 0"),
    ("normal std nan", lambda m: m.normal(m.zeros(2), m.tensor([float("nan"), 1.0])), "normal: .*std >= 0"),
    ("normal float std < 0", lambda m: m.normal(0.0, -1.0, (2,)), "normal: .*std >= 0"),
    ("normal int mean", lambda m: m.normal(m.zeros(2, dtype=m.int64), 1.0), "normal: .*floating point"),
    ("normal shapes", lambda m: m.normal(m.zeros(2), m.ones(3)), r"normal: .*\(2,\) and \(3,\)"),
    ("bernoulli p > 1", lambda m: m.bernoulli(m.zeros(2), 1.3), r"bernoulli: .*p to be in \[0, 1\]"),
    ("bernoulli input > 1", lambda m: m.bernoulli(m.tensor([1.5])), r"bernoulli: .*in \[0, 1\]"),
    ("bernoulli int input", lambda m: m.bernoulli(m.tensor([1, 0])), "bernoulli: .*floating point"),
    ("bernoulli_ p", lambda m: m.zeros(2).bernoulli_(1.5), r"bernoulli_: .*p to be in \[0, 1\]"),
    ("multinomial too many", lambda m: m.multinomial(m.tensor([0.1, 0.9]), 3), "multinomial: .*without replacement"),
    ("multinomial negative", lambda m: m.multinomial(m.tensor([-0.1, 0.9]), 1), "multinomial: .*element < 0"),
    ("multinomial inf", lambda m: m.multinomial(m.tensor([float("inf"), 1.0]), 1), "multinomial: .*inf"),
    ("multinomial zero sum", lambda m: m.multinomial(m.tensor([0.0, 0.0]), 1), "multinomial: .*sum of probabilities <= 0"),
    ("multinomial 3-d", lambda m: m.multinomial(m.ones(2, 2, 2), 1), "multinomial: .*1 or 2 dim"),
    ("multinomial 0-d", lambda m: m.multinomial(m.tensor(1.0), 1), "multinomial: .*1 or 2 dim"),
    ("multinomial no samples", lambda m: m.multinomial(m.ones(2), 0), "multinomial: .*n_sample <= 0"),
    ("multinomial int", lambda m: m.multinomial(m.ones(2, dtype=m.int64), 1), "multinomial: .*floating point"),
    ("poisson negative", lambda m: m.poisson(m.tensor([-1.0])), "poisson: .*non-negative"),
    ("poisson int", lambda m: m.poisson(m.tensor([1])), "poisson: .*floating point"),
    ("uniform_ bounds", lambda m: m.zeros(2).uniform_(2, 1), "uniform_: .*from=2 > to=1"),
    ("uniform_ int", lambda m: m.zeros(2, dtype=m.int64).uniform_(), "uniform_: .*floating point"),
    ("normal_ std", lambda m: m.zeros(2).normal_(0, -1), "normal_: .*std >= 0"),
    ("normal_ int", lambda m: m.zeros(2, dtype=m.int64).normal_(), "normal_: .*floating point"),
    ("exponential_ lambda", lambda m: m.zeros(2).exponential_(0), "exponential_: .*lambda > 0"),
    ("exponential_ int", lambda m: m.zeros(2, dtype=m.int64).exponential_(), "exponential_: .*floating point"),
    ("geometric_ 0", lambda m: m.zeros(2).geometric_(0), r"geometric_: .*p to be in \(0, 1\)"),
    ("geometric_ 1", lambda m: m.zeros(2).geometric_(1), r"geometric_: .*p to be in \(0, 1\)"),
    ("log_normal_ std", lambda m: m.zeros(2).log_normal_(1, 0), "log_normal_: .*std > 0"),
    ("log_normal_ int", lambda m: m.zeros(2, dtype=m.int64).log_normal_(), "log_normal_: .*floating point"),
    ("cauchy_ sigma", lambda m: m.zeros(2).cauchy_(0, 0), "cauchy_: .*sigma > 0"),
    ("cauchy_ int", lambda m: m.zeros(2, dtype=m.int64).cauchy_(), "cauchy_: .*floating point"),
    ("random_ order", lambda m: m.zeros(2).random_(5, 2), "random_: .*from=5 >= to=2"),
    ("random_ int8 range", lambda m: m.zeros(2, dtype=m.int8).random_(0, 300), "random_: .*out of bounds for int8"),
    ("randint_like order", lambda m: m.randint_like(m.zeros(2), 5, 2), "randint_like: .*low=5 >= high=2"),
    ("randint_like int8 range", lambda m: m.randint_like(m.zeros(2, dtype=m.int8), 300), "randint_like: .*out of bounds"),
    ("randint uint8 range", lambda m: m.randint(-1, 5, (2,), dtype=m.uint8), "randint: .*out of bounds for uint8"),
    ("normal int dtype", lambda m: m.normal(0.0, 1.0, (2,), dtype=m.int64), "normal: .*floating point dtype"),
]


@pytest.mark.parametrize("name,call,message", ERRORS, ids=[e[0] for e in ERRORS])
def test_bad_arguments_are_refused_naming_the_op(name, call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call(gg)


@pytest.mark.torch
@pytest.mark.parametrize("name,call,message", ERRORS, ids=[e[0] for e in ERRORS])
def test_pytorch_refuses_the_same_arguments(name, call, message):
    torch = pytest.importorskip("torch")
    with pytest.raises((ValueError, TypeError, RuntimeError, NotImplementedError)):
        call(torch)


def test_normal_overloads_are_checked():
    with pytest.raises(TypeError, match="size"):
        gg.normal(0.0, 1.0)
    with pytest.raises(TypeError, match="size"):
        gg.normal(gg.zeros(2), 1.0, (3,))


# Distributions (fixed seeds) ------------------------------------------------------------------------------
def _moments_close(sample, mean, var, k=4.0):
    """The sample mean within k standard errors of mean, the variance within k of its own (normal theory,
    loose enough for the skewed distributions at these sizes)."""
    sample = np.asarray(sample, np.float64).ravel()
    n = sample.size
    assert abs(sample.mean() - mean) < k * math.sqrt(var / n), (sample.mean(), mean)
    fourth = np.mean((sample - sample.mean()) ** 4)
    assert abs(sample.var() - var) < k * math.sqrt((fourth - var**2) / n) + 1e-12, (sample.var(), var)


def test_fills_have_their_distributions():
    gg.manual_seed(2024)
    x = gg.zeros(N, dtype=gg.float64)
    _moments_close(x.uniform_(-2, 3).numpy(), 0.5, 25 / 12)
    assert x.min().item() >= -2 and x.max().item() < 3
    _moments_close(x.normal_(1.0, 2.0).numpy(), 1.0, 4.0)
    _moments_close(x.bernoulli_(0.3).numpy(), 0.3, 0.21)
    _moments_close(x.exponential_(2.0).numpy(), 0.5, 0.25)
    _moments_close(x.geometric_(0.25).numpy(), 4.0, 0.75 / 0.25**2)
    assert x.min().item() >= 1  # trials up to and including the first success
    _moments_close(np.log(x.log_normal_(0.5, 0.75).numpy()), 0.5, 0.75**2)
    cauchy = x.cauchy_(1.0, 0.5).numpy()
    quartiles = np.quantile(cauchy, [0.25, 0.5, 0.75])
    np.testing.assert_allclose(quartiles, [0.5, 1.0, 1.5], atol=0.03)  # median +- sigma
    values = x.random_(-4, 9).numpy()
    assert set(np.unique(values)) == set(range(-4, 9))
    _moments_close(values, 2.0, (13**2 - 1) / 12)


def test_random_without_bounds_covers_the_dtype():
    gg.manual_seed(1)
    assert set(np.unique(gg.zeros(2000, dtype=gg.uint8).random_().numpy())) == set(range(256))
    assert set(np.unique(gg.zeros(2000, dtype=gg.int8).random_().numpy())) == set(range(128))
    assert set(np.unique(gg.zeros(50, dtype=gg.bool).random_().numpy())) == {False, True}
    floats = gg.zeros(N).random_().numpy()
    assert floats.min() >= 0 and floats.max() <= 2**24 and floats.max() > 2**23
    assert set(np.unique(gg.zeros(1000).random_(5).numpy())) == {0, 1, 2, 3, 4}
    assert set(np.unique(gg.zeros(1000).random_(to=3).numpy())) == {0, 1, 2}
    assert set(np.unique(gg.zeros(1000).random_(2, to=4).numpy())) == {2, 3}
    assert set(np.unique(gg.zeros(1000, dtype=gg.int8).random_(120).numpy())) == set(range(120))
    above = gg.zeros(1000).uniform_(to=0.25).numpy()
    assert above.min() >= 0 and above.max() < 0.25


def test_normal_bernoulli_poisson_follow_their_parameters():
    gg.manual_seed(3)
    mean = gg.tensor([-3.0, 0.0, 5.0], dtype=gg.float64).reshape(3, 1)
    std = gg.tensor([0.5, 1.0, 4.0], dtype=gg.float64).reshape(3, 1)
    draws = gg.normal(mean.expand(3, N), std.expand(3, N)).numpy()
    for row, m, s in zip(draws, (-3.0, 0.0, 5.0), (0.5, 1.0, 4.0)):
        _moments_close(row, m, s * s)
    _moments_close(gg.normal(2.0, 3.0, (N,)).numpy(), 2.0, 9.0)
    p = gg.tensor([0.05, 0.5, 0.9], dtype=gg.float64).reshape(3, 1).expand(3, N)
    for row, q in zip(gg.bernoulli(p).numpy(), (0.05, 0.5, 0.9)):
        _moments_close(row, q, q * (1 - q))
    for rate in (0.5, 4.0, 60.0):
        _moments_close(gg.poisson(gg.full((N,), rate)).numpy(), rate, rate)
    assert gg.bernoulli(gg.tensor([0.0, 1.0] * 50)).tolist() == [0.0, 1.0] * 50


def test_multinomial_with_replacement_follows_the_weights():
    gg.manual_seed(4)
    weights = gg.tensor([[1.0, 0.0, 3.0, 6.0], [0.0, 0.0, 0.0, 2.0]])
    picks = gg.multinomial(weights, N, replacement=True).numpy()
    counts = np.stack([np.bincount(row, minlength=4) for row in picks])
    assert counts[0, 1] == 0 and counts[1, :3].sum() == 0  # zero weight: never drawn
    for c, p in zip(counts[0], (0.1, 0.0, 0.3, 0.6)):
        assert abs(c / N - p) < 4 * math.sqrt(p * (1 - p) / N) + 1e-12


def test_multinomial_without_replacement_never_repeats_and_follows_the_weights():
    gg.manual_seed(5)
    weights = gg.tensor([1.0, 2.0, 0.0, 7.0])
    firsts = []
    for _ in range(3000):
        picks = gg.multinomial(weights, 3).tolist()
        assert len(set(picks)) == 3 and 2 not in picks  # the zero weight only when nothing else is left
        firsts.append(picks[0])
    freq = np.bincount(firsts, minlength=4) / 3000
    for f, p in zip(freq, (0.1, 0.2, 0.0, 0.7)):
        assert abs(f - p) < 4 * math.sqrt(p * (1 - p) / 3000) + 1e-12
    every = gg.multinomial(weights, 4).tolist()
    assert sorted(every) == [0, 1, 2, 3] and every[-1] == 2
    rows = gg.multinomial(gg.ones(5, 6), 6).numpy()
    assert all(sorted(r) == list(range(6)) for r in rows)


def test_float16_draws_stay_in_range():
    gg.manual_seed(6)
    x = gg.zeros(N, dtype=gg.half).uniform_()
    assert x.dtype is gg.float16 and 0 <= x.min().item() and x.max().item() <= 1
    assert abs(float(x.numpy().astype(np.float64).mean()) - 0.5) < 0.01


def test_half_precision_draws_that_round_onto_the_top_are_kept_below_it():
    from gpugrad.mt19937 import _below

    just_under = np.array([1 - 2.0**-24, 0.5, 1 - 2.0**-12], np.float32)  # the first rounds to 1.0 in float16
    for np_dtype in (np.float16, gg.bfloat16.np):
        out = _below(just_under.astype(np_dtype), 0.0, 1.0)
        assert out.dtype == np_dtype and out.max() < 1 and out[1] == 0.5
    assert _below(np.array([0.3], np.float16), 0.0, 0.3)[0] < 0.3
    assert _below(np.array([2.0, 2.0], np.float16), 2.0, 2.0).tolist() == [2.0, 2.0]  # from == to
    assert gg.zeros(3).uniform_(1.5, 1.5).tolist() == [1.5, 1.5, 1.5]
    assert gg.rand(10000, dtype=gg.float16).max().item() < 1 and gg.rand(10000, dtype=gg.bfloat16).max().item() < 1


def test_randint_high_and_size_form():
    """torch.randint(high, size): the two-argument form nanoGPT's get_batch uses."""
    draws = gg.randint(5, (200,))
    assert draws.shape == (200,) and draws.dtype is gg.int64
    assert 0 <= draws.min().item() and draws.max().item() == 4
    assert gg.randint(2, 5, (3, 2)).shape == (3, 2)


def test_generator_takes_pytorchs_device_argument():
    # torch.Generator(device=...) (its only constructor argument); gpugrad's seed is a keyword of its own.
    g = gg.Generator(device="cpu")
    assert g.device == gg.device("cpu") and gg.Generator("cpu").device == gg.device("cpu")
    a = gg.randn(3, generator=g.manual_seed(7)).numpy()
    np.testing.assert_array_equal(a, gg.randn(3, generator=gg.Generator(seed=7)).numpy())
    with pytest.raises(gg.DeviceError, match="unknown device 'nope'"):
        gg.Generator(device="nope")


def test_each_process_starts_from_its_own_seed_as_in_pytorch():
    import subprocess
    import sys

    code = "import gpugrad as gg; print(gg.initial_seed(), gg.randn(2).tolist())"
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
            for _ in range(2)]
    assert runs[0] != runs[1]  # unseeded runs differ; gg.manual_seed makes one repeatable


def test_standard_gamma_draws_have_gammas_moments_and_the_implicit_gradient():
    gg.manual_seed(0)
    alpha = gg.tensor([0.5, 2.0, 7.0], dtype=gg.float64)
    draws = gg._standard_gamma(alpha.expand(20000, 3).contiguous())
    np.testing.assert_allclose(draws.mean(0).numpy(), [0.5, 2.0, 7.0], rtol=0.05)  # Gamma(a, 1): mean a, var a
    np.testing.assert_allclose(draws.var(0).numpy(), [0.5, 2.0, 7.0], rtol=0.1)
    a = gg.tensor([0.5, 2.0, 7.0], dtype=gg.float64, requires_grad=True)
    x = gg._standard_gamma(a)
    (x * gg.tensor([0.3, -1.2, 0.7], dtype=gg.float64)).sum().backward()
    slope = gg._standard_gamma_grad(a.detach(), x.detach())
    np.testing.assert_allclose(a.grad.numpy(), slope.numpy() * [0.3, -1.2, 0.7], rtol=1e-12)
    # d x / d a at a fixed CDF level P(a, x): -(dP/da) / (dP/dx), dP/da by central differences
    av, xv, h = a.detach().numpy(), x.detach().numpy(), 1e-6
    dp_da = (gg.special.gammainc(gg.tensor(av + h), gg.tensor(xv)) - gg.special.gammainc(gg.tensor(av - h), gg.tensor(xv))).numpy() / (2 * h)
    dp_dx = np.exp((av - 1) * np.log(xv) - xv - np.array([math.lgamma(v) for v in av]))
    np.testing.assert_allclose(slope.numpy(), -dp_da / dp_dx, rtol=1e-4)
    with pytest.raises(ShapeError, match="_standard_gamma_grad"):
        gg._standard_gamma_grad(a.detach(), x.detach()[:2])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_standard_gamma_of_a_0d_concentration_and_the_distributions_built_on_it(dtype):
    gg.manual_seed(1)
    dt = getattr(gg, dtype)
    a = gg.tensor(2.0, dtype=dt, requires_grad=True)
    x = gg._standard_gamma(a)
    assert x.shape == () and x.dtype is dt and x.item() > 0
    x.backward()
    np.testing.assert_allclose(a.grad.item(), gg._standard_gamma_grad(a.detach(), x.detach()).item(), rtol=1e-6)
    D = gg.distributions
    for d in (D.Gamma(gg.tensor(2.0, dtype=dt), gg.tensor(3.0, dtype=dt)), D.Chi2(gg.tensor(4.0, dtype=dt)),
              D.StudentT(gg.tensor(5.0, dtype=dt))):
        s = d.sample()
        assert s.shape == () and s.dtype is dt and math.isfinite(s.item())
    many = D.Gamma(gg.tensor(2.0, dtype=dt), gg.tensor(4.0, dtype=dt)).sample((40000,))
    np.testing.assert_allclose(many.mean().item(), 0.5, rtol=0.03)  # mean a / rate


def test_standard_gamma_grad_matches_pytorchs():
    torch = pytest.importorskip("torch")
    alpha = np.array([0.3, 1.0, 4.0, 30.0])
    x = np.array([0.05, 0.7, 3.5, 28.0])
    ours = gg._standard_gamma_grad(gg.tensor(alpha), gg.tensor(x)).numpy()
    theirs = torch._standard_gamma_grad(torch.tensor(alpha), torch.tensor(x)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-3)  # PyTorch's is an approximation (tests/distributions)
    assert torch._standard_gamma(torch.tensor([2.0])).dtype == torch.float32
    assert gg._standard_gamma(gg.tensor([2.0])).dtype == gg.float32


@pytest.mark.parametrize("dtype", [gg.complex64, gg.complex128])
def test_normal_and_uniform_fill_a_complex_tensor_part_by_part(dtype):
    gg.manual_seed(0)
    z = gg.empty(100000, dtype=dtype).normal_(1.0, 2.0)
    assert z.dtype == dtype
    parts = np.stack([z.numpy().real, z.numpy().imag])
    np.testing.assert_allclose(parts.mean(1), [1.0, 1.0], atol=0.02)
    np.testing.assert_allclose(parts.std(1), [2 ** 0.5, 2 ** 0.5], rtol=0.02)  # each part std / sqrt(2)
    assert abs(np.corrcoef(parts)[0, 1]) < 0.02
    u = gg.empty(100000, dtype=dtype).uniform_(-1.0, 3.0).numpy()
    for part in (u.real, u.imag):
        assert part.min() >= -1.0 and part.max() < 3.0 and abs(part.mean() - 1.0) < 0.02
    with pytest.raises(DTypeError, match="normal_"):
        gg.zeros(3, dtype=gg.int64).normal_()


def test_complex_fills_match_pytorchs_moments():
    torch = pytest.importorskip("torch")
    for lib in (gg, torch):
        lib.manual_seed(1)
        z = lib.empty(100000, dtype=lib.complex64).normal_(0.5, 3.0).numpy()
        np.testing.assert_allclose([z.real.std(), z.imag.std()], [3 / 2 ** 0.5] * 2, rtol=0.02)
        np.testing.assert_allclose([z.real.mean(), z.imag.mean()], [0.5, 0.5], atol=0.03)


def test_randint_takes_high_and_size_by_keyword_with_low_zero():
    gg.manual_seed(0)
    x = gg.randint(high=2, size=(4, 32))  # torchmetrics' test inputs
    assert x.shape == (4, 32) and x.dtype == gg.int64 and set(np.unique(x.numpy())) <= {0, 1}
    y = gg.randint(3, high=6, size=(1000,)).numpy()
    assert y.min() == 3 and y.max() == 5


def test_randint_keywords_match_pytorch():
    torch = pytest.importorskip("torch")
    for lib in (gg, torch):
        x = lib.randint(high=2, size=(4, 32))
        assert tuple(x.shape) == (4, 32) and str(x.dtype).endswith("int64") and int(x.max()) <= 1


@pytest.mark.parametrize("seed", [-1, -5, -(2**63), 2**64 - 1])
def test_a_negative_or_large_seed_reads_back_as_pytorchs_unsigned_64_bits(seed):
    gg.manual_seed(seed)
    assert gg.initial_seed() == seed % 2**64 and gg.Generator().manual_seed(seed).initial_seed() == seed % 2**64
    torch = pytest.importorskip("torch")
    torch.manual_seed(seed)
    gg.manual_seed(seed)
    np.testing.assert_array_equal(gg.rand(4).numpy(), torch.rand(4).numpy())


@pytest.mark.parametrize("seed", [2**64, -(2**63) - 1])
def test_a_seed_outside_64_bits_is_refused(seed):
    with pytest.raises(ValueError, match="manual_seed"):
        gg.manual_seed(seed)
