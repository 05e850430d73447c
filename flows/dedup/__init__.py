"""Deduplication: story clusters of exact and near duplicates (table ``clusters``), and the
MinHash signatures that find them (table ``minhashes``).

One job per module, each a pure transform:

* ``sketch.py``: text -> tokens -> shingle hashes -> MinHash signature; ``SIGNATURE_SCHEME``
  names everything a stored signature depends on.
* ``permutations.py``: the frozen MinHash permutation parameters.
* ``store.py``: ``SignatureStore``, signatures by content hash, compact, gathered without copies.
* ``lsh.py``: near-duplicate pairs from LSH bands over signatures.
* ``clusters.py``: the rules (see its docstring): union-find over same-hash and near-duplicate
  pairs, cluster ids kept across runs, canonical members; ``cluster_articles`` over records,
  ``cluster_columns`` over columns.

Callers import from this package (``from infoshos.flows.dedup import ...``), not from its
modules; the public interface is the whole of ``clusters.py``'s (its ``__all__``) and the names
below from the other modules.
"""

from __future__ import annotations

from infoshos.flows.dedup import clusters
from infoshos.flows.dedup.clusters import *  # noqa: F403 (its __all__, all of it public here)
from infoshos.flows.dedup.lsh import LSH_MARGIN
from infoshos.flows.dedup.permutations import NUM_PERM, PERMUTATIONS_FINGERPRINT, SEED
from infoshos.flows.dedup.sketch import (
    MIN_WORDS,
    SHINGLE_K,
    SIGNATURE_BYTES,
    SIGNATURE_SCHEME,
    shingle_hashes,
    tokens,
)
from infoshos.flows.dedup.store import SignatureStore

__all__ = [
    "LSH_MARGIN",
    "MIN_WORDS",
    "NUM_PERM",
    "PERMUTATIONS_FINGERPRINT",
    "SEED",
    "SHINGLE_K",
    "SIGNATURE_BYTES",
    "SIGNATURE_SCHEME",
    "SignatureStore",
    "shingle_hashes",
    "tokens",
]
__all__ += clusters.__all__
