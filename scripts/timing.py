"""The timing rule shared by the benchmark scripts: the median of repeated wall-clock runs
after a few warm-up calls (TensorFlow traces and caches on its first calls)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_ms(action: Callable[[], object], repeats: int, warmup: int = 2) -> float:
    """Median milliseconds of ``action()`` over ``repeats`` runs, after ``warmup`` runs."""
    for _ in range(warmup):
        action()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)
