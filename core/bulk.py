"""Bulk work in one request: a register import plans and writes 10,000 fiches at once.

Such work allocates millions of small objects (rows, their cells, the fiches' content, versions
and journal payloads) that all stay alive until it ends. Python's cyclic garbage collector runs
whenever enough objects have been allocated, and each of its older-generation passes walks every
live object again — to find nothing, since that work builds no reference cycles. :func:`paused_gc`
suspends it for the length of the work (reference counting still frees every object as usual);
the collector is on again at the end, as it was, and catches up on its next pass.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection inside the block (also a decorator); the previous state after it,
    whatever happens (a nested use leaves the collector to the outer one)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
