"""Blocks of rows: the cache-sized pieces that the normalisations, the softmax and max
pooling loop over.

An elementwise NumPy expression makes one pass over memory per operation. Done a block of
rows at a time, the later passes over a block find it in cache.
"""

from __future__ import annotations

import numpy as np

# Bytes a block, so the several passes over one block hit cache. Not tuned to one cache:
# on the benchmark's layer and batch norms (AMD EPYC, 512 KiB of L2 a core, 32 MiB of L3)
# the time is flat or falls slightly from 256 KiB to 2 MiB blocks, so a CPU whose caches
# are half or twice these stays on the plateau: 1 MiB measured 1 to 14 % faster than
# 512 KiB and 256 KiB on the norms, the softmax and max pooling, in float64 and float32.
# Below about 128 KiB NumPy's per-call overhead costs 25 % and more, and one block of the
# whole array (no blocking) costs 10 to 40 %, its temporaries going to memory. Counting
# bytes, not entries, gives float32 blocks twice the entries of float64 ones.
# A loop over blocks writes into arrays allocated once, never a new array per block: a
# new block-sized array can be a fresh memory mapping, paid in page faults on every block.
BLOCK_BYTES = 1 << 20


def row_blocks(a: np.ndarray):
    """Slices along the first axis of ``a``, each about :data:`BLOCK_BYTES` of it (at
    least one index): rows of an ``(M, D)`` array, samples of an ``(N, C, L)`` one. Each
    slice ends inside the array, so the first one's length is the largest."""
    row_bytes = a.itemsize * int(np.prod(a.shape[1:], dtype=np.int64))
    step = max(1, BLOCK_BYTES // max(1, row_bytes))
    return [slice(i, min(i + step, a.shape[0])) for i in range(0, a.shape[0], step)]


def largest(blocks) -> int:
    """Indices in the largest of ``blocks`` from :func:`row_blocks` (the first one), 0 for
    none: the first axis of a scratch array that every block fits in."""
    return blocks[0].stop - blocks[0].start if blocks else 0
