"""gpugrad/host_memory.py: after ``import gpugrad`` a freed array's memory is reused, not paged in again.

Each case runs in a fresh interpreter (the thresholds are process-wide, and glibc reads the environment at
start-up). The probe allocates and frees a 1 MiB array (below the 4 MiB from which NumPy asks for huge
pages), then counts the page faults of a second one: from the kept heap none; with glibc's own
thresholds, or the fixed 128 KiB ones the environment variables below ask for, its 256 pages fault in.
"""
from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc's malloc only")

PROBE = """
import resource, sys
import numpy as np
if sys.argv[1] == "gpugrad":
    import gpugrad
first = np.ones(1 << 18, np.float32)
del first
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
second = np.ones(1 << 18, np.float32)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults_of_second_array(importing: str = "gpugrad", **env: str) -> int:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    out = subprocess.run([sys.executable, "-c", PROBE, importing], env={**clean, **env}, capture_output=True,
                         text=True, check=True, timeout=120)
    return int(out.stdout.split()[-1])


@pytest.fixture(scope="module")
def probe_sees_faults():
    """Skip where fresh heap memory takes few faults (huge pages back it): the probe cannot tell there."""
    if _faults_of_second_array(importing="numpy only") < 100:  # glibc's own thresholds: fresh pages
        pytest.skip("fresh heap pages take few faults on this machine (transparent huge pages?)")


def test_a_freed_array_is_reused_without_page_faults(probe_sees_faults):
    assert _faults_of_second_array() < 20


@pytest.mark.parametrize("env", [
    {"MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_TRIM_THRESHOLD_": "131072"},
    {"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072"},
])
def test_thresholds_set_in_the_environment_are_left_alone(probe_sees_faults, env):
    assert _faults_of_second_array(**env) >= 100


def test_keep_freed_memory_reports_whether_it_set_them(monkeypatch):
    from gpugrad import host_memory

    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    assert host_memory.keep_freed_memory() is False
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_")
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    assert host_memory.keep_freed_memory() is True  # what import did already: setting it again changes nothing
