"""The calibration / held-out split every detection-quality benchmark uses.

A record goes to the *calibration* half when the MD5 of its group key is even, to the *held-out*
half otherwise: deterministic, stable across runs and machines, independent of file order, and the
same rule ``_fa_ragtruth`` applies to RAGTruth source ids. The group key keeps related records on
one side: a TRAIL trace id, a tau-bench task id (all trials of a task), a RAGTruth source id (all
models' answers to one source). Constants are tuned on the calibration half only; figures that
claim to generalise are read on the held-out half.
"""

from __future__ import annotations

import hashlib

SPLITS = ("calibration", "heldout")


def split_of(key: str) -> str:
    """``"calibration"`` or ``"heldout"`` for a record's group key."""
    return "calibration" if int(hashlib.md5(key.encode()).hexdigest(), 16) % 2 == 0 else "heldout"
