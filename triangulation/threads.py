"""Running independent pieces of work on threads (numpy and the compiled kernel release the GIL)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def thread_map(work: Callable[[T], R], items: Iterable[T], threads: int) -> Iterator[R]:
    """``work(item)`` for every item, results in the items' order, on up to ``threads`` worker threads
    (in the calling thread when 1 or when there is one item)."""
    items = list(items)
    threads = min(threads, len(items))
    if threads <= 1:
        yield from map(work, items)
        return
    with ThreadPoolExecutor(max_workers=threads) as pool:
        yield from pool.map(work, items)
