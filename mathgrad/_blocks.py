"""Blocks of rows: the cache-sized pieces that the normalisations and the softmax loop over.

An elementwise NumPy expression makes one pass over memory per operation. Done a block of
rows at a time, the later passes over a block find it in cache.
"""

from __future__ import annotations

import numpy as np

# Entries a block (512 KiB of float64), so the several passes over one block hit cache.
# Not tuned to one cache: on the benchmark's layer and batch norms (AMD EPYC, 512 KiB of L2
# a core, 32 MiB of L3) the time is flat, within the noise, from 2**15 to 2**18 entries,
# 256 KiB to 2 MiB of float64, so a CPU whose caches are half or twice these stays on the
# plateau; below about 2**14 NumPy's per-call overhead costs 25 % and more, and one block
# of the whole array (no blocking) costs 10 to 40 %, its temporaries going to memory.
# A loop over blocks writes into arrays allocated once, never a new array per block: a
# new block-sized array can be a fresh memory mapping, paid in page faults on every block.
BLOCK = 1 << 16


def row_blocks(shape):
    """Slices along the first axis of an array of ``shape``, each about :data:`BLOCK`
    entries (at least one index): rows of an ``(M, D)`` array, samples of an ``(N, C, L)``
    one."""
    step = max(1, BLOCK // max(1, int(np.prod(shape[1:], dtype=np.int64))))
    return [slice(i, i + step) for i in range(0, shape[0], step)]
