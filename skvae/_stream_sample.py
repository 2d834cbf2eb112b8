"""An even sample of the rows that partial_fit's calls have streamed in.

What fit computes after training -- the VAE's variances, the detectors'
``offset_`` and error scales, the robust explanations' anchors and
correction -- needs the training rows. A fit has them all; ``partial_fit``
has one chunk, which may be a single row. So each call merges its chunk
into a bounded uniform sample of every row seen so far, and calibrates on
that sample.

The sample is a bottom-k sample: every row draws a random key once, and the
sample holds the rows with the smallest keys. Merging a chunk then needs
the chunk's keys and the sample's only, any chunk size gives the same
distribution, and only the chunk rows that enter the sample are read (X
may be a memory map, or sparse).
"""

import numpy as np
import scipy.sparse as sp

# The sample's size: as many rows as the passes after training read at most
# (the detectors' offset_ reads up to 2**21 cells, at least 1,000 rows), and
# no more than 10,000.
_SAMPLE_CELLS = 2**21
_MIN_SAMPLE_ROWS, _MAX_SAMPLE_ROWS = 1000, 10_000
# The estimator's attributes that hold the sample (rows and their keys): in memory only,
# never pickled nor saved.
SAMPLE_ATTRIBUTES = ("_stream_sample", "_stream_keys")


def sample_capacity(n_columns):
    """How many rows the sample of a table of ``n_columns`` coded columns holds."""
    return min(_MAX_SAMPLE_ROWS, max(_MIN_SAMPLE_ROWS, _SAMPLE_CELLS // max(n_columns, 1)))


def recalibrates(n_sample_rows, n_calibration_rows):
    """Whether partial_fit calibrates on its sample of ``n_sample_rows``: once it holds as many
    rows as the calibration it would replace, or 1,000 (a fit on 10,000 rows followed by
    partial_fit of a single row keeps the fit's calibration)."""
    return n_sample_rows >= min(n_calibration_rows, _MIN_SAMPLE_ROWS)


def merge_chunk(sample, keys, X, random_state):
    """The sample of all rows so far, ``sample`` (rows, or None) and its ``keys``, with the rows of X.

    Returns the new sample's rows, in the order they were streamed, and their keys.
    """
    new_keys = np.random.default_rng(random_state).random(X.shape[0])
    if sample is None:
        sample, keys = X[:0], np.zeros(0)
    all_keys = np.concatenate([keys, new_keys])
    kept = np.sort(np.argsort(all_keys, kind="stable")[: sample_capacity(X.shape[1])])
    from_sample, from_X = kept[kept < len(keys)], kept[kept >= len(keys)] - len(keys)
    parts = [sample[from_sample], X[from_X]]
    if any(sp.issparse(part) for part in parts):  # chunks may come sparse and dense
        return sp.vstack([sp.csr_matrix(part) for part in parts], format="csr"), all_keys[kept]
    return np.concatenate(parts), all_keys[kept]
