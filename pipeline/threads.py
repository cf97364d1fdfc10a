"""Arrow work of one process on threads: Arrow's kernels (take, cast, join, Parquet encoding)
let go of the GIL, so independent columns or chunks computed on threads use the cores the
process may use: `pyarrow.cpu_count()`, every core in the parent of a run, one in a worker of
the local executor (`run.common.one_compute_thread`), where these run as plain loops.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

import pyarrow as pa

T = TypeVar("T")
R = TypeVar("R")


def thread_count() -> int:
    """Threads this process computes on (Arrow's CPU pool size, at least 1)."""
    return max(1, pa.cpu_count())


def ordered_ahead(
    fn: Callable[[T], R], items: Iterable[T], ahead: int | None = None
) -> Iterator[R]:
    """`fn(x)` for each of `items`, in order, with up to `ahead` items (default
    `thread_count()`) computed ahead on as many threads while the caller uses the earlier ones
    (at most that many results are held). Where this process computes on one thread, in turn."""
    threads = min(thread_count(), ahead or thread_count())
    if thread_count() < 2:
        yield from (fn(x) for x in items)
        return
    with ThreadPoolExecutor(threads) as pool:
        window: deque[Future[R]] = deque()
        for item in items:
            window.append(pool.submit(fn, item))
            if len(window) > threads:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()
