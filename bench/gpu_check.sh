#!/usr/bin/env bash
# gpugrad on a machine with an NVIDIA GPU and no network, in one run of under 8 minutes:
#
#   1. the environment (nvidia-smi, package versions) into env.txt; no GPU: stop at once (exit 3)
#   2. an editable install (offline) and a numba-cuda + CuPy smoke test
#   3. python -m pytest -m cuda tests: every cuda-marked test on the GPU, i.e. each kernel against its
#      reference at the unit tests' odd sizes and at training sizes (tests/kernels/test_gpu_large.py),
#      every output allocated NaN-filled, both launch paths, and the "cuda" device path (tests/cuda)
#   4. gpugrad bench --device cuda --json: the benchmark suite's groups, as on the CPU, on the GPU
#      (wall time per call with a sync, device time from CUDA events, PyTorch on the GPU beside)
#   5. bench/gpu_mlp_step.py when time is left: launches per MLP step, the step on both launch paths,
#      where its host time goes
#   6. bench/gpu_graph_step.py when time is left: eager and CUDA-graphed steps, gpugrad and PyTorch (its
#      JSON line goes to the end of mlp_step.json)
#   7. bench/bench_distributed.py --nccl-check when time is left: NCCL's collectives and DDP on "cuda"
#
#   OUT=/path/to/results bash bench/gpu_check.sh
#
# Writes env.txt, pip_install.log, pytest_cuda.log, bench.json, bench.log, mlp_step.json and
# mlp_step_profile.txt under $OUT, and prints the pytest summary and the bench table last. Reads GPU
# settings, never changes them. GPU_CHECK_TOTAL_S (default 470) bounds the run; PYTHON overrides the
# interpreter (default python3).
# Exit status: 0 everything passed; 1 a test or a benchmark failed; 2 set-up failed (install, OUT);
# 3 no usable GPU.
set -uo pipefail

START=$SECONDS
TOTAL_S=${GPU_CHECK_TOTAL_S:-470}
PY=${PYTHON:-python3}
if [ -z "${OUT:-}" ]; then
    echo "gpu_check.sh: set OUT to the directory for the results (OUT=results bash bench/gpu_check.sh)" >&2
    exit 2
fi
mkdir -p "$OUT" || exit 2
OUT=$(cd "$OUT" && pwd)
export OUT
cd "$(dirname "$0")/.." || exit 2
REPO=$(pwd -P)

# The cuda-marked tests need the real GPU, not the simulator; GPUGRAD_FUSED=0 would turn every
# launcher called without impl= into its reference.
unset NUMBA_ENABLE_CUDASIM GPUGRAD_SIMULATE_CUDA GPUGRAD_FUSED
export PYTHONUNBUFFERED=1 NUMBA_CUDA_LOW_OCCUPANCY_WARNINGS=0

left() { echo $((TOTAL_S - (SECONDS - START))); }
say() { echo "[gpu_check.sh $((SECONDS - START))s] $*"; }

# ------------------------------------------------------------------ 1. environment, or stop
{
    echo "## date: $(date -u +%Y-%m-%dT%H:%M:%SZ)  host: $(uname -srm)"
    echo "## nvidia-smi --query-gpu"
    timeout 30 nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv \
        || echo "nvidia-smi failed (rc=$?)"
    echo "## nvidia-smi -L"
    timeout 30 nvidia-smi -L || true
    echo "## $PY -VV"
    "$PY" -VV
    echo "## pip list (numba|cupy|torch|numpy)"
    timeout 60 "$PY" -m pip list 2>/dev/null | grep -iE "numba|cupy|torch|numpy"
    echo "## CUDA-related environment"
    env | grep -E '^(CUDA|NUMBA|CUPY|LD_LIBRARY_PATH|NVIDIA_VISIBLE)' | sort
} >"$OUT/env.txt" 2>&1
if ! timeout 30 nvidia-smi -L 2>/dev/null | grep -q '^GPU '; then
    echo "gpu_check.sh: no NVIDIA GPU here (nvidia-smi -L lists none; see $OUT/env.txt). This script checks" \
        "gpugrad on a GPU; on a CPU machine run python -m pytest and gpugrad bench instead." >&2
    exit 3
fi
GPU_PROBE='import cupy; n = cupy.cuda.runtime.getDeviceCount(); assert n > 0, "no device"; print(n)'
if ! PROBE=$(timeout 60 "$PY" -c "$GPU_PROBE" 2>&1); then
    echo "gpu_check.sh: nvidia-smi lists a GPU but CuPy cannot use it: $(echo "$PROBE" | tail -n 1)" >&2
    exit 3
fi
say "environment recorded in $OUT/env.txt; CuPy sees $PROBE device(s)"

SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT

# Anything the interpreter must do at startup (numpy compat shim, the gpugrad.kernels alias) goes into
# one sitecustomize.py here: Python imports only the first sitecustomize on its path.
SITE="$SCRATCH/site"
mkdir -p "$SITE"
: >"$SITE/sitecustomize.py"
export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"

# numba-cuda 0.30.4 registers an overload for np.row_stack, which NumPy 2.5 removed (it was an alias of
# vstack): on such an image no kernel compiles. Restore the alias for this run and say so.
COMPAT=""
if ! timeout 60 "$PY" -c 'import numpy; assert hasattr(numpy, "row_stack")' 2>/dev/null; then
    printf 'import numpy\nif not hasattr(numpy, "row_stack"):\n    numpy.row_stack = numpy.vstack\n' >>"$SITE/sitecustomize.py"
    COMPAT="; numpy.row_stack restored for numba-cuda (NumPy >= 2.5)"
    echo "## numpy has no row_stack: sitecustomize sets numpy.row_stack = numpy.vstack for this run" >>"$OUT/env.txt"
fi

# ------------------------------------------------------------------ 2. install
# import gpugrad.kernels from outside the repository, so the installed
# mapping (kernels/ -> gpugrad.kernels) is what answers; prints its folder.
IMPORT_CHECK='
import os, gpugrad.kernels as k
missing = [f for f in ("activation", "linear", "softmax_xent", "optim") if not hasattr(k, f)]
assert getattr(k, "__file__", None) and not missing, f"gpugrad.kernels incomplete: {k.__path__} {missing}"
print(os.path.realpath(os.path.dirname(k.__file__)))'
kernels_importable() {
    local where
    where=$(cd "$SCRATCH" && timeout 120 "$PY" -c "$IMPORT_CHECK" 2>>"$OUT/pip_install.log") || return 1
    [ "$where" = "$REPO/kernels" ] || { echo "gpugrad.kernels resolves to $where, not $REPO/kernels" >>"$OUT/pip_install.log"; return 1; }
}

say "pip install -e . (offline)"
timeout 180 "$PY" -m pip install --no-deps --no-build-isolation --no-index -e . -q >"$OUT/pip_install.log" 2>&1
PIP_RC=$?
if [ "$PIP_RC" -eq 0 ] && kernels_importable; then
    INSTALL="editable install OK"
else
    if [ "$PIP_RC" -ne 0 ]; then
        INSTALL="editable install FAILED (pip rc=$PIP_RC)"
    else
        INSTALL="editable install done but gpugrad.kernels did not import"
    fi
    # Fallback: the repository on PYTHONPATH plus an import hook that maps
    # gpugrad.kernels to kernels/ (what the editable install's finder does).
    echo "## editable install failed or does not import; using PYTHONPATH + sitecustomize alias" >>"$OUT/pip_install.log"
    cat >>"$SITE/sitecustomize.py" <<'EOF'
import importlib.abc
import importlib.util
import os
import sys

_ROOT = os.environ.get("GPU_CHECK_REPO")


class _KernelsAlias(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != "gpugrad.kernels" or not _ROOT:
            return None
        pkg = os.path.join(_ROOT, "kernels")
        return importlib.util.spec_from_file_location(
            name, os.path.join(pkg, "__init__.py"), submodule_search_locations=[pkg])


sys.meta_path.insert(0, _KernelsAlias())
EOF
    export GPU_CHECK_REPO="$REPO"
    export PYTHONPATH="$PYTHONPATH:$REPO"
    if kernels_importable; then
        INSTALL="$INSTALL; PYTHONPATH + gpugrad.kernels alias works"
    else
        INSTALL="$INSTALL; alias FAILED too (see pip_install.log)"
    fi
fi
INSTALL="$INSTALL$COMPAT"
say "$INSTALL"

# numba-cuda must find NVVM to compile anything; when it cannot, look for a
# libnvvm on disk and point CUDA_HOME at its toolkit root.
SMOKE='
import cupy as cp
from numba import cuda
@cuda.jit
def bump(x):
    i = cuda.grid(1)
    if i < x.size:
        x[i] += 1.5
a = cp.full(64, 0.5, dtype=cp.float32)
bump[1, 64](a)
cp.cuda.runtime.deviceSynchronize()
assert float(a.sum()) == 128.0, a
print("numba-cuda + cupy OK on", cuda.get_current_device().name)'
smoke() { timeout 120 "$PY" -c "$SMOKE" >>"$OUT/env.txt" 2>&1; }
echo "## numba-cuda smoke test" >>"$OUT/env.txt"
if smoke; then
    INSTALL="$INSTALL; numba-cuda smoke OK"
else
    SMOKE_OK=0
    for lib in $(timeout 30 find /usr/local /opt /usr/lib "$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
            -name 'libnvvm.so*' 2>/dev/null | head -n 5); do
        # <home>/nvvm/lib64/libnvvm.so (toolkits, pip) or <home>/lib/libnvvm.so
        dir=$(dirname "$lib")
        if [ "$(basename "$(dirname "$dir")")" = nvvm ]; then
            home=$(dirname "$(dirname "$dir")")
        else
            home=$(dirname "$dir")
        fi
        echo "## retry with CUDA_HOME=$home (found $lib)" >>"$OUT/env.txt"
        if CUDA_HOME="$home" smoke; then
            export CUDA_HOME="$home"
            SMOKE_OK=1
            break
        fi
    done
    if [ "$SMOKE_OK" = 1 ]; then
        INSTALL="$INSTALL; numba-cuda smoke OK with CUDA_HOME=$CUDA_HOME"
    else
        INSTALL="$INSTALL; numba-cuda smoke FAILED (see env.txt)"
    fi
fi
say "$INSTALL"

# ------------------------------------------------------------------ 3. the cuda-marked tests
# Keep about 200 s for the benchmarks. The first test of each family compiles its CUDA kernels.
PT=$(($(left) - 200))
((PT > 200)) && PT=200
((PT < 30)) && PT=30
say "python -m pytest -m cuda tests (timeout ${PT}s)"
timeout -k 10 "$PT" "$PY" -m pytest -q -m cuda tests -p no:cacheprovider -rfEs --durations=10 \
    2>&1 | tee "$OUT/pytest_cuda.log"
PYTEST_RC=${PIPESTATUS[0]}
PYTEST_SUMMARY=$(grep -E '[0-9]+ (passed|failed|errors?|skipped|deselected)|no tests ran' "$OUT/pytest_cuda.log" \
    | tail -n 1 | tr -d '=' | sed 's/^ *//; s/ *$//' | cut -c1-200)
say "pytest rc=$PYTEST_RC: $PYTEST_SUMMARY"

# ------------------------------------------------------------------ 4. the benchmark suite on the GPU
BT=$(($(left) - 40))
((BT < 30)) && BT=30
say "gpugrad bench --device cuda (timeout ${BT}s)"
timeout -k 10 "$BT" "$PY" -m gpugrad.benchmarks --device cuda --max-time 0.1 --json "$OUT/bench.json" \
    >"$OUT/bench.log" 2>&1
BENCH_RC=$?
say "bench rc=$BENCH_RC ($OUT/bench.log, $OUT/bench.json)"

# ------------------------------------------------------------------ 5. the MLP step's launches and host time
MT=$(($(left) - 5))
((MT > 60)) && MT=60
if ((MT >= 20)); then
    say "bench/gpu_mlp_step.py (timeout ${MT}s)"
    GPU_MLP_PROFILE="$OUT/mlp_step_profile.txt" timeout -k 5 "$MT" "$PY" bench/gpu_mlp_step.py \
        >"$OUT/mlp_step.json" 2>"$OUT/mlp_step.log"
    say "mlp step rc=$?: $(tail -n 1 "$OUT/mlp_step.json" | cut -c1-300)"
fi

# ------------------------------------------------------------------ 6. the step as a CUDA graph
GT=$(($(left) - 5))
((GT > 90)) && GT=90
if ((GT >= 20)); then
    say "bench/gpu_graph_step.py (timeout ${GT}s)"
    timeout -k 5 "$GT" "$PY" bench/gpu_graph_step.py >>"$OUT/mlp_step.json" 2>>"$OUT/mlp_step.log"
    say "graph step rc=$?: $(tail -n 1 "$OUT/mlp_step.json" | cut -c1-400)"
fi

# ------------------------------------------------------------------ 7. NCCL in a world of one rank
# Every collective on CUDA tensors against NumPy and two DDP steps on "cuda" (bench_distributed.py
# --nccl-check); its lines go to mlp_step.log's end, since only 8 files come back from a lent machine.
NT=$(($(left) - 5))
((NT > 60)) && NT=60
if ((NT >= 20)); then
    say "bench/bench_distributed.py --nccl-check (timeout ${NT}s)"
    { echo "## bench_distributed.py --nccl-check"; timeout -k 5 "$NT" "$PY" bench/bench_distributed.py --nccl-check 2>&1; } \
        >>"$OUT/mlp_step.log"
    say "nccl check rc=$?: $(tail -n 1 "$OUT/mlp_step.log" | cut -c1-200)"
fi

# ------------------------------------------------------------------ summary, last
echo
cat "$OUT/bench.log"
echo
say "$INSTALL"
say "pytest -m cuda: rc=$PYTEST_RC: $PYTEST_SUMMARY (124/137: timed out)"
say "gpugrad bench --device cuda: rc=$BENCH_RC (124/137: timed out; 1: some benchmarks failed)"
if [ "$PYTEST_RC" -ne 0 ] || [ "$BENCH_RC" -ne 0 ]; then
    exit 1
fi
exit 0
