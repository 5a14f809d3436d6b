"""Every CPU kernel has a serial and a parallel build; both give the reference's results."""
import numpy as np
import pytest

from gpugrad.kernels import _clone, _dispatch, activation, conv, linear, optim, pool, softmax_xent


@pytest.fixture(params=["serial", "parallel"])
def build(request, monkeypatch):
    monkeypatch.setattr(_dispatch, "PARALLEL_MIN_WORK", 10**12 if request.param == "serial" else 0)
    return request.param


def test_activation_both_builds(build):
    rng = np.random.default_rng(0)
    x, gy = rng.standard_normal(1001).astype(np.float32), rng.standard_normal(1001).astype(np.float32)
    for name in activation.KINDS:
        saved = activation.reference_forward(np, name, x, 0.01) if activation.SAVES_OUTPUT[name] else x
        np.testing.assert_allclose(activation.forward(np, name, x, 0.01, impl="cpu"), activation.reference_forward(np, name, x, 0.01), rtol=2e-6, atol=1e-6)
        np.testing.assert_allclose(
            activation.backward(np, name, gy, saved, 0.01, impl="cpu"), activation.reference_backward(np, name, gy, saved, 0.01), rtol=2e-6, atol=1e-6
        )


def test_linear_backward_takes_a_read_only_gradient():
    """Without an activation the kernel reads gy as gz; a read-only gy (a broadcast scalar gradient of
    shape (1, 1), as out.sum().backward() gives a one-output layer on one row) still gives its bias sums."""
    gy = np.arange(6.0, dtype=np.float32).reshape(3, 2)
    gy.flags.writeable = False
    gz, gb = linear.bias_act_backward(np, "identity", gy, None, need_bias_grad=True, impl="cpu")
    assert gz is gy and gb.tolist() == [6.0, 9.0]
    one = np.broadcast_to(np.float32(2.0), (1, 1))
    assert linear.bias_act_backward(np, "identity", one, None, need_bias_grad=True, impl="cpu")[1].tolist() == [2.0]


def test_linear_and_xent_both_builds(build):
    rng = np.random.default_rng(1)
    z, b, gy = rng.standard_normal((33, 17)), rng.standard_normal(17), rng.standard_normal((33, 17))
    pre, y = linear.bias_act_forward(np, "gelu", z, b, impl="cpu")
    rpre, ry = linear.reference_bias_act_forward(np, "gelu", z, b)
    np.testing.assert_allclose(y, ry, rtol=1e-12)
    gz, gb = linear.bias_act_backward(np, "gelu", gy, pre, impl="cpu")
    rgz, rgb = linear.reference_bias_act_backward(np, "gelu", gy, rpre)
    np.testing.assert_allclose(gz, rgz, rtol=1e-12)
    np.testing.assert_allclose(gb, rgb, rtol=1e-12)
    t = rng.integers(0, 17, 33)
    loss, d, _ = softmax_xent.softmax_cross_entropy(np, z, t, impl="cpu")
    rloss, rd, _ = softmax_xent.softmax_cross_entropy(np, z, t, impl="reference")
    np.testing.assert_allclose(loss, rloss, rtol=1e-12)
    np.testing.assert_allclose(d, rd, rtol=1e-12, atol=1e-15)


def test_adam_both_builds(build):
    rng = np.random.default_rng(2)
    base = [rng.standard_normal(1001) for _ in range(3)] + [rng.random(1001)]
    out = {}
    for impl in ("cpu", "reference"):
        p, g, m, v = (a.copy() for a in base)
        for step in (1, 2):
            optim.adam(np, p, g, m, v, None, lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8, step=step, impl=impl)
        out[impl] = (p, m, v)
    for a, r in zip(out["cpu"], out["reference"]):
        np.testing.assert_allclose(a, r, rtol=1e-12)
    assert optim.sum_of_squares(np, base[0], impl="cpu") == pytest.approx(float((base[0] ** 2).sum()), rel=1e-12)


def test_conv_and_pool_both_builds(build):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 5, 7, 6))
    geo = ((3, 2), (2, 1), (1, 1, 0, 1), (1, 2))
    cols = conv.im2col(np, x, *geo, impl="cpu")
    np.testing.assert_array_equal(cols, conv.reference_im2col(np, x, *geo))
    np.testing.assert_allclose(conv.col2im(np, cols, x.shape, *geo, impl="cpu"), conv.reference_col2im(np, cols, x.shape, *geo), rtol=1e-12)
    same = ((3, 3), (1, 1), (1, 1, 1, 1), (1, 1))  # the batch run kernels here, the per-image runs below
    for z in (x, rng.standard_normal((2, 3, 8, 9))):
        cols = conv.im2col(np, z, *same, impl="cpu")
        np.testing.assert_array_equal(cols, conv.reference_im2col(np, z, *same))
        np.testing.assert_allclose(conv.col2im(np, cols, z.shape, *same, impl="cpu"),
                                   conv.reference_col2im(np, cols, z.shape, *same), rtol=1e-12)
    z, bias = rng.standard_normal((5, 3 * 42)), rng.standard_normal(5)
    np.testing.assert_array_equal(conv.columns_to_nchw(np, z, bias, (3, 5, 7, 6), impl="cpu"),
                                  conv.reference_columns_to_nchw(np, z, bias, 3).reshape(3, 5, 7, 6))
    gz, sums = conv.nchw_to_columns(np, x, impl="cpu")
    want_gz, want_sums = conv.reference_nchw_to_columns(np, x, True)
    np.testing.assert_array_equal(gz, want_gz)
    np.testing.assert_allclose(sums, want_sums, rtol=1e-12)
    y, index = pool.max_pool2d(np, x, *geo, impl="cpu")
    y_ref, index_ref = pool.reference_max_pool2d(np, x, *geo)
    np.testing.assert_array_equal(index, index_ref)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_allclose(pool.max_pool2d_backward(np, y, index, x.shape, *geo, impl="cpu"),
                               pool.reference_max_pool2d_backward(np, y, index, x.shape), rtol=1e-12)


def test_cache_tag_hashes_every_helper_compiled_into_kernels(tmp_path):
    """Numba checks a cached kernel against its own file only: the tag in every kernel's cache name must
    change when any helper file whose code is compiled into kernels changes (every kernels/_*.py not
    declared host-only, so a new helper file is covered by default)."""
    names = {p.name for p in _clone.hashed_files()}
    assert {"_vmath.py", "_scalar.py", "_dispatch.py", "_clone.py"} <= names
    assert not names & _clone.HOST_ONLY and "_launch.py" not in names
    for name in ("_helper.py", "_launch.py", "_other.py"):
        (tmp_path / name).write_text("x = 1\n")
    files = _clone.hashed_files(tmp_path)
    assert [p.name for p in files] == ["_helper.py", "_other.py"]
    before = _clone.source_tag(files)
    (tmp_path / "_other.py").write_text("x = 2\n")
    assert _clone.source_tag(files) != before
    (tmp_path / "_other.py").write_text("x = 1\n")
    (tmp_path / "_launch.py").write_text("x = 3\n")  # host-only: no recompile
    assert _clone.source_tag(_clone.hashed_files(tmp_path)) == before
    # Kernels compiled under the CUDA simulator (CI runs it beside the suite, on the same cache) are
    # other machine code: their own entries.
    assert _clone.source_tag(files, simulated=True) != before
    assert _clone.SHARED_SOURCE_TAG == _clone.source_tag(_clone.hashed_files(), _clone.simulator_enabled())
    activation.forward(np, "relu", np.ones(3, np.float32), impl="cpu")
    built = activation._forward_cpu.kernels[activation.CODES["relu"]]
    for build in (built.serial, built.parallel):  # both builds' cache names carry the tag
        assert build.py_func.__qualname__.endswith(_clone.SHARED_SOURCE_TAG)
