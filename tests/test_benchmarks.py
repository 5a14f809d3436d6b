"""The benchmark suite (bench/) and its runner (gpugrad.benchmarks): the whole suite runs in smoke mode and
produces its table and JSON; the runner's arithmetic (ratios, baselines, roofline fractions) is right;
the hand-written NumPy floor computes the same gradients and Adam step as gpugrad."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import benchmarks

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _has_torch() -> bool:
    return importlib.util.find_spec("torch") is not None


def test_smoke_suite_runs_and_reports(tmp_path, capsys):
    out = tmp_path / "bench.json"
    rc = benchmarks.main(["--smoke", "--json", str(out), "--bench-dir", str(BENCH)])
    printed = capsys.readouterr().out
    assert rc == 0
    for group in ("limits:memory", "limits:compute", "overhead:matmul", "kernel:optim.adam:1e3",
                  "optim:Adam", "train:mlp-64-128-10", "train:cnn-digits", "launch:relu:1",
                  "kernel:activation.backward[sigmoid]:4096", "kernel:linear.matmul_bias_act[gelu]:64^2"):
        assert group in printed, f"{group} missing from the table:\n{printed}"
    data = json.loads(out.read_text())
    rows = data["rows"]
    assert data["smoke"] is True and data["limits"]["bandwidth_GBps"] > 0 and data["limits"]["gemm_GFLOPs"] > 0
    assert all(r["median_s"] > 0 for r in rows)
    variants = {(r["group"], r["variant"]) for r in rows}
    for kernel in ("activation.forward[gelu]", "linear.bias_act_backward[relu]", "softmax_cross_entropy",
                   "optim.sgd[momentum]", "optim.rmsprop", "optim.adagrad", "optim.sum_of_squares"):
        assert {(f"kernel:{kernel}:4096", "fused"), (f"kernel:{kernel}:4096", "reference")} <= variants
    for opt in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad"):
        assert {(f"optim:{opt}", "gpugrad-fused"), (f"optim:{opt}", "gpugrad-reference")} <= variants
    assert ("train:mlp-1024-4096-1000", "numpy-floor") in variants
    # bench_kernels.py, folded into the kernels family: every activation, the matmul, the launch cost
    for name in ("sigmoid", "mish", "elu"):
        assert {(f"kernel:activation.forward[{name}]:4096", v) for v in ("fused", "reference")} <= variants
    assert {("launch:relu:1024", "fused"), ("launch:relu:1024", "xp.maximum")} <= variants
    assert (("kernel:optim.adam:4096", "pytorch") in variants) == _has_torch()
    launch = next(r for r in rows if r["group"] == "launch:relu:1" and r["variant"] == "fused")
    assert launch["baseline"] == "xp.maximum"
    assert (("train:mlp-64-128-10", "pytorch") in variants) == _has_torch()
    adam = next(r for r in rows if r["group"] == "optim:Adam" and r["variant"] == "gpugrad-fused")
    assert adam["ratio"] > 0 and adam["fraction"] > 0 and adam["rate_unit"] == "GB/s"
    train = next(r for r in rows if r["group"] == "train:mlp-64-128-10" and r["variant"] == "gpugrad")
    assert train["rate_unit"] == "GFLOP/s" and train["fraction"] > 0
    expected_base = "pytorch" if _has_torch() else "numpy-floor"
    assert train["baseline"] == expected_base


def _bench(group, impl, median, baseline=0, **info):
    return {"group": group, "name": f"test[{impl}]", "fullname": f"bench/x.py::test[{impl}]",
            "stats": {"median": median, "rounds": 5}, "extra_info": dict(impl=impl, baseline=baseline, **info)}


def test_summarize_ratios_baselines_and_fractions():
    report = {"benchmarks": [
        _bench("limits:memory", "copy", 0.01, bytes=2e8, roof="memory", limit="bandwidth"),   # 20 GB/s
        _bench("limits:memory", "copy-1-thread", 0.02, bytes=2e8, roof="memory", limit="bandwidth"),  # the best counts
        _bench("limits:compute", "gemm-numpy", 0.1, flops=5e9, roof="compute", limit="gemm"),  # 50 GFLOP/s
        _bench("optim:Adam", "gpugrad-fused", 0.02, bytes=2.8e8, roof="memory"),
        _bench("optim:Adam", "gpugrad-reference", 0.08, baseline=2, bytes=2.8e8, roof="memory"),
        _bench("optim:Adam", "pytorch-forloop", 0.04, baseline=1, bytes=2.8e8, roof="memory"),
        _bench("train:mlp", "gpugrad", 0.5, flops=1e10, roof="compute"),
        _bench("train:mlp", "numpy-floor", 0.25, baseline=2, flops=1e10, roof="compute"),
        _bench("overhead:add", "gpugrad", 2e-5),
    ]}
    s = benchmarks.summarize(report)
    assert s["limits"]["bandwidth_GBps"] == pytest.approx(20.0) and s["limits"]["bandwidth_by"] == "copy"
    assert s["limits"]["gemm_GFLOPs"] == pytest.approx(50.0) and s["limits"]["gemm_by"] == "gemm-numpy"
    rows = {(r["group"], r["variant"]): r for r in s["rows"]}
    fused = rows["optim:Adam", "gpugrad-fused"]
    assert fused["baseline"] == "pytorch-forloop" and fused["ratio"] == pytest.approx(0.5)
    assert fused["rate"] == pytest.approx(14.0) and fused["fraction"] == pytest.approx(0.7)
    mlp = rows["train:mlp", "gpugrad"]  # PyTorch absent: the fallback baseline answers
    assert mlp["baseline"] == "numpy-floor" and mlp["ratio"] == pytest.approx(2.0)
    assert mlp["rate"] == pytest.approx(20.0) and mlp["fraction"] == pytest.approx(0.4)
    assert rows["overhead:add", "gpugrad"]["ratio"] is None
    assert [r["group"] for r in s["rows"]][:2] == ["limits:compute", "limits:memory"]
    assert next(r["variant"] for r in s["rows"] if r["group"] == "optim:Adam") == "pytorch-forloop"
    text = benchmarks.format_table(s)
    assert "0.50x pytorch-forloop" in text and "70%" in text and "copy 20 GB/s" in text
    md = benchmarks.format_table(s, "markdown")
    assert md.startswith("| group | variant |") and "| optim:Adam | gpugrad-fused |" in md


def test_kernels_family_runs_both_kernel_files():
    assert benchmarks._select(["kernels"]) == ["bench_limits.py", "bench_fused_kernels.py", "bench_kernels.py"]
    everything = benchmarks._select([])
    assert "bench_kernels.py" in everything and len(everything) == len(set(everything))
    assert (BENCH / "bench_kernels.py").is_file() and (BENCH / "bench_fused_kernels.py").is_file()


def test_device_times_rates_and_table_on_cuda():
    """On cuda each row carries its CUDA-event time (extra_info device_s): rates, limits and a device
    ratio use it; the wall-time ratio stays."""
    report = {"benchmarks": [
        _bench("limits:memory", "copy-cupy", 0.002, bytes=4e9, roof="memory", limit="bandwidth", device_s=0.001),
        _bench("kernel:optim.adam:1e7", "fused", 0.0002, bytes=2.8e8, roof="memory", device_s=0.0001),
        _bench("kernel:optim.adam:1e7", "reference", 0.0008, baseline=1, bytes=2.8e8, roof="memory", device_s=0.0006),
    ]}
    s = benchmarks.summarize(report)
    assert s["limits"]["bandwidth_GBps"] == pytest.approx(4000.0)
    fused = next(r for r in s["rows"] if r["variant"] == "fused")
    assert fused["ratio"] == pytest.approx(0.25) and fused["device_ratio"] == pytest.approx(1 / 6)
    assert fused["rate"] == pytest.approx(2800.0) and fused["fraction"] == pytest.approx(0.7)
    text = benchmarks.format_table(s)
    assert "device vs baseline" in text.splitlines()[0] and "0.17x" in text and "100 us" in text


def test_runner_argument_errors(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="unknown benchmark group.*'optimizers'"):
        benchmarks.main(["optimizers", "--bench-dir", str(BENCH)])
    with pytest.raises(FileNotFoundError, match="bench/ of gpugrad's source tree"):
        benchmarks.main(["--smoke", "--bench-dir", str(tmp_path)])
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails as if not installed
    with pytest.raises(RuntimeError, match="--plot needs matplotlib.*pip install"):
        benchmarks.main(["--smoke", "--plot", str(tmp_path / "r.png"), "--bench-dir", str(BENCH)])


def test_plot_draws_the_ratios(tmp_path):
    pytest.importorskip("matplotlib")
    report = {"benchmarks": [_bench("optim:Adam", "gpugrad-fused", 0.02), _bench("optim:Adam", "pytorch", 0.04, baseline=1)]}
    path = tmp_path / "ratios.png"
    benchmarks.plot(benchmarks.summarize(report), str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _load_training_bench():
    had_conftest = "conftest" in sys.modules
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location("bench_training_under_test", BENCH / "bench_training.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    finally:
        sys.path.remove(str(BENCH))
        if not had_conftest:
            sys.modules.pop("conftest", None)
    return mod


def test_numpy_floor_matches_gpugrad_gradients_and_adam():
    from gpugrad.kernels import optim as kopt

    mod = _load_training_bench()
    sizes, batch = (7, 5, 4, 3), 6
    net = mod.NumpyMLP(np, sizes, batch, lr=1e-2)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], batch)
    before = net.p.copy()
    ws = [gg.tensor(a.copy(), requires_grad=True) for a in net.params]
    h = gg.tensor(x)
    for i in range(len(sizes) - 1):
        h = h @ ws[2 * i] + ws[2 * i + 1]
        if i < len(sizes) - 2:
            h = h.relu()
    loss = gg.nn.functional.cross_entropy(h, gg.tensor(y))
    loss.backward()
    got_loss = net.step(x, y)
    assert float(got_loss) == pytest.approx(loss.item(), rel=1e-5)
    for w, g in zip(ws, net.grads):
        np.testing.assert_allclose(g, w.grad.numpy(), rtol=1e-4, atol=1e-6)
    p, m, v = before.copy(), np.zeros_like(before), np.zeros_like(before)
    kopt.reference_adam(np, p, net.g, m, v, None, lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8, step=1)
    np.testing.assert_allclose(net.p, p, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(net.m, m, rtol=1e-6)
    np.testing.assert_allclose(net.v, v, rtol=1e-6)


def test_flop_counts():
    mod = _load_training_bench()
    # 2 flops per multiply-add: forward + weight grad for the first layer, + input grad for the others.
    assert mod.mlp_flops((4, 3, 2), 5) == 2 * 5 * (4 * 3 * 2 + 3 * 2 * 3)
    # conv1 1->16 on 8x8, conv2 16->32 on 4x4 (k=3), then 128->64->10.
    n = 2
    expected = 2 * n * (16 * 9 * 64 * 2 + 32 * 16 * 9 * 16 * 3 + 128 * 64 * 3 + 64 * 10 * 3)
    assert mod.cnn_flops(n) == expected
