"""Give freed image memory back to the system (glibc), so RSS falls after a burst of big photos.

glibc raises its mmap threshold after the first large free, so later multi-MB image buffers come
from the heap and stay mapped after they are freed; fixing the threshold keeps big buffers in
their own mappings (returned at free). A job also leaves reference cycles (mediapipe makes a
namedtuple type per call) that would hold memory until a rare full collection: after each job a
gc.collect() (cheap once the long-lived objects are frozen) frees them, and malloc_trim hands
back the heap's free tail. Off glibc the allocator calls are no-ops.

A worker process runs one photo at a time, and a check makes and frees dozens of 1-12 MB arrays
(canvases, masks, Lab planes). Each in its own mapping is faulted in afresh, page by page; without
that a worker's check ran 19-25 % faster on the bench machine (paired runs). So a worker keeps
buffers up to glibc's ceiling (32 MB) on the heap, where the job's next array reuses the pages the
last one freed, and hands the heap back after a job only when the process holds more than
WORKER_KEEP_BYTES (a 12 MP job peaks far below it): the next job then finds its pages in place.
The API, whose threads take uploads side by side, keeps the 1 MB threshold and trims after every job.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import os
import time

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
ARENA_MAX = 4  # the API's 40 request threads would otherwise each fragment an arena of their own
MMAP_THRESHOLD = 1024 * 1024  # buffers from 1 MB up get their own mapping
JOB_MMAP_THRESHOLD = 32 * 1024 * 1024  # a worker's: glibc's largest (a full 12 MP decode, 48 MB, is still mapped)
JOB_TRIM_THRESHOLD = 1 << 30  # a worker's heap is not trimmed during a job (release_memory decides after it)
WORKER_KEEP_BYTES = 768 * 1024 * 1024  # a worker's resident memory kept between jobs; above it, trimmed

PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

_libc: ctypes.CDLL | None = None
_tuned = False
_keep_heap = False  # a worker: trim after a job only above WORKER_KEEP_BYTES
_frozen = False


def _glibc() -> ctypes.CDLL | None:
    global _libc
    if _libc is None:
        name = ctypes.util.find_library("c")
        try:
            lib = ctypes.CDLL(name or "libc.so.6")
            lib.mallopt, lib.malloc_trim  # noqa: B018 - AttributeError off glibc
        except (OSError, AttributeError):
            return None
        _libc = lib
    return _libc


def tune_allocator(*, one_job_at_a_time: bool = False) -> bool:
    """Once per process: a fixed mmap threshold (disables glibc's sliding one), fewer arenas;
    `one_job_at_a_time` (a worker process): buffers up to 32 MB on the heap, kept between jobs (release_memory)."""
    global _tuned, _keep_heap
    lib = _glibc()
    if lib is None or _tuned:
        return _tuned
    _keep_heap = one_job_at_a_time
    threshold, trim = ((JOB_MMAP_THRESHOLD, JOB_TRIM_THRESHOLD) if one_job_at_a_time
                       else (MMAP_THRESHOLD, 4 * MMAP_THRESHOLD))
    _tuned = all(lib.mallopt(option, value) for option, value in ((M_MMAP_THRESHOLD, threshold),
                                                                  (M_TRIM_THRESHOLD, trim),
                                                                  (M_ARENA_MAX, ARENA_MAX)))
    log.debug("malloc tuned: %s", _tuned)
    return _tuned


def resident_bytes() -> int:
    """This process's resident memory (Linux; 0 where /proc is not there)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * PAGE_BYTES
    except (OSError, ValueError, IndexError):
        return 0


def release_memory() -> None:
    """After a job: collect the cycles that hold a job's image arrays (they would otherwise wait
    for a rare full collection: RSS rose ~10 MB a photo), then return free heap to the system
    (in a worker only above WORKER_KEEP_BYTES, see the module's docstring)."""
    global _frozen
    started = time.perf_counter()
    gc.collect()
    if not _frozen:
        # after the first job the models are loaded: park every live object outside the collector,
        # so each later full collection scans only what a job made (~10 ms instead of ~300 ms)
        gc.freeze()
        _frozen = True
    lib = _glibc()
    if lib is not None and (not _keep_heap or resident_bytes() > WORKER_KEEP_BYTES):
        lib.malloc_trim(0)
    log.debug("memory released in %.0f ms", (time.perf_counter() - started) * 1000)
