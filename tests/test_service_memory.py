"""Bounded memory: the API's RSS under 8 parallel worst-case uploads and a 100-upload soak
(bench/memory_bench.py, smaller), and the allocator hooks it relies on."""

from __future__ import annotations

import argparse
import ctypes.util
import sys

import pytest

from receipt.service.memory import release_memory, tune_allocator
from tests.conftest import ROOT


def test_allocator_is_tuned_on_glibc() -> None:
    if not ctypes.util.find_library("c") or sys.platform != "linux":
        pytest.skip("glibc only")
    assert tune_allocator() is True
    release_memory()  # callable any time


def test_rss_stays_bounded_over_worst_case_uploads_and_a_soak() -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    import memory_bench

    ok, figures = memory_bench.run(argparse.Namespace(parallel=8, count=100, process_every=5, max_seconds=400))
    bomb, big, soak = figures["bomb"], figures["big"], figures["soak"]
    assert bomb["peak"] - bomb["before"] < 100, bomb  # refused from the header: almost nothing
    assert big["peak"] - big["before"] < 300, big  # decoded in the worker, a few at a time
    assert soak["errors"] == 0 and soak["unsettled"] == 0, soak
    assert soak["after"] < soak["before"] * 1.6, soak  # generous: the bench's goal is 1.2 over 1000 uploads


def test_a_worker_reuses_its_heap_between_big_buffers_and_the_api_maps_each() -> None:
    """A worker (one job at a time) keeps a job's multi-MB arrays on the heap: allocating one again
    after freeing it faults in no new pages; the API maps each (returned at free, faulted in anew)."""
    if not ctypes.util.find_library("c") or sys.platform != "linux":
        pytest.skip("glibc only")
    import subprocess

    probe = (
        "import resource, numpy as np\n"
        "from receipt.service.memory import tune_allocator\n"
        "assert tune_allocator(one_job_at_a_time={worker})\n"
        "np.ones(8 << 20, np.uint8)\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "for _ in range(20):\n"
        "    np.ones(8 << 20, np.uint8)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)\n"
    )
    faults = {}
    for worker in (True, False):
        out = subprocess.run([sys.executable, "-c", probe.format(worker=worker)], cwd=ROOT, capture_output=True,
                             text=True, check=True)
        faults[worker] = int(out.stdout.strip())
    # (the kernel may fault huge pages in: counts are per fault, not per 4 KB page)
    assert faults[False] >= 20, faults  # at least one fault per mapped buffer
    assert faults[True] * 20 < faults[False], faults


@pytest.mark.parametrize("keep_bytes, kept", [(768 << 20, True), (0, False)])
def test_a_worker_keeps_its_heap_across_jobs_below_its_budget_and_trims_above(keep_bytes: int, kept: bool) -> None:
    if not ctypes.util.find_library("c") or sys.platform != "linux":
        pytest.skip("glibc only")
    import subprocess

    probe = (
        "import resource, numpy as np\n"
        "from receipt.service import memory\n"
        f"memory.WORKER_KEEP_BYTES = {keep_bytes}\n"
        "assert memory.tune_allocator(one_job_at_a_time=True)\n"
        "faults = 0\n"
        "for _ in range(10):\n"
        "    np.ones(8 << 20, np.uint8)  # a job's array, freed at the job's end\n"
        "    memory.release_memory()\n"
        "    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "    np.ones(8 << 20, np.uint8)  # the next job's\n"
        "    faults += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before\n"
        "print(faults)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    faults = int(out.stdout.strip())
    assert (faults < 10) if kept else (faults >= 10), faults
