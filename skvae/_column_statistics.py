"""Passes over all the rows of a table that never hold it whole in memory, and
the evenly spaced rows that stand for them where a pass would cost too much.

X may be a memory map larger than memory, or a SciPy sparse matrix (CSR),
of which only the stored values are read: an implicit zero is an observed
zero, a stored NaN a missing cell.
"""

import numpy as np
import scipy.sparse as sp


def column_statistics(values, chunk_cells=2**20):
    """Observed count, mean, variance, smallest and largest value of each column, NaN left out,
    in float64.

    Combined chunk by chunk (Chan et al.'s update): ``values`` may be a
    memory map larger than memory. Chunks hold about ``chunk_cells`` cells,
    whatever the width, so that their float64 temporaries stay small. A
    column with no observed value has mean 0 and variance 0, and no smallest
    nor largest value (inf and -inf). The smallest and largest values say
    exactly which columns are constant, where a variance computed in floats
    does not (three cells of 0.1 have a variance of 2e-34); they are not
    kept for sparse X (NaN), whose columns are never standardised.
    """
    if sp.issparse(values):
        return _sparse_column_statistics(values)
    n_columns = values.shape[1]
    chunk_rows = max(1, chunk_cells // max(n_columns, 1))
    counts, means, squares = np.zeros(n_columns), np.zeros(n_columns), np.zeros(n_columns)
    lows, highs = np.full(n_columns, np.inf), np.full(n_columns, -np.inf)
    for start in range(0, values.shape[0], chunk_rows):
        chunk = np.asarray(values[start : start + chunk_rows], dtype=np.float64)
        with np.errstate(over="ignore", invalid="ignore"):  # values beyond 1e154: refused later
            counts, means, squares = _combine_chunk(chunk, counts, means, squares)
        # fmin and fmax leave NaN out.
        lows, highs = (
            np.fmin(lows, np.fmin.reduce(chunk, axis=0)),
            np.fmax(highs, np.fmax.reduce(chunk, axis=0)),
        )
    return counts, means, squares / np.maximum(counts, 1), lows, highs


def _combine_chunk(chunk, counts, means, squares):
    """column_statistics' running (count, mean, sum of squared deviations) with one more chunk."""
    observed = ~np.isnan(chunk)
    if observed.all():  # the same sums without the masks' copies: a complete chunk is the common case
        chunk_counts = np.full(chunk.shape[1], chunk.shape[0])
        chunk_means = chunk.sum(axis=0) / max(chunk.shape[0], 1)
        deviations = chunk - chunk_means
    else:
        chunk_counts = observed.sum(axis=0)
        chunk_means = np.where(observed, chunk, 0.0).sum(axis=0) / np.maximum(chunk_counts, 1)
        deviations = np.where(observed, chunk - chunk_means, 0.0)
    total = counts + chunk_counts
    delta = chunk_means - means
    share = np.divide(chunk_counts, total, out=np.zeros_like(means), where=total > 0)
    squares = squares + np.einsum("ij,ij->j", deviations, deviations) + delta**2 * counts * share
    return total, means + delta * share, squares


def _sparse_column_statistics(values, chunk_size=1 << 20):
    """column_statistics of a canonical CSR matrix, from its stored values a chunk at a time.

    The implicit zeros count as observed: a column's sums run over its
    stored values, its count over every row but those with a stored NaN.
    """
    n_rows, n_columns = values.shape
    missing, sums, squares = np.zeros(n_columns), np.zeros(n_columns), np.zeros(n_columns)
    for start in range(0, values.nnz, chunk_size):
        stored = np.asarray(values.data[start : start + chunk_size], dtype=np.float64)
        columns = values.indices[start : start + chunk_size]
        nan = np.isnan(stored)
        missing += np.bincount(columns[nan], minlength=n_columns)
        stored = np.where(nan, 0.0, stored)
        with np.errstate(over="ignore", invalid="ignore"):
            sums += np.bincount(columns, weights=stored, minlength=n_columns)
            squares += np.bincount(columns, weights=stored * stored, minlength=n_columns)
    counts = n_rows - missing
    observed = np.maximum(counts, 1)
    means = sums / observed
    # E[x^2] - E[x]^2: exact enough for the only use sparse X has of it (an
    # empty-column check and the fill of missing cells; no standardising).
    with np.errstate(over="ignore", invalid="ignore"):  # values beyond 1e154: refused later
        variances = np.maximum(squares / observed - means**2, 0.0)
    unknown = np.full(n_columns, np.nan)
    return counts, means, variances, unknown, unknown


def observed_counts(X, columns, chunk_cells=2**20):
    """How many rows of X (dense, or CSR) observe each of its columns ``columns`` (not NaN), a chunk
    of rows at a time."""
    columns = np.asarray(columns, dtype=np.intp)
    if sp.issparse(X):
        stored_nan = np.bincount(X.indices[np.isnan(X.data)], minlength=X.shape[1])
        return (X.shape[0] - stored_nan[columns]).astype(np.int64)
    counts = np.zeros(len(columns), dtype=np.int64)
    chunk_rows = max(1, chunk_cells // max(X.shape[1], 1))
    for start in range(0, X.shape[0], chunk_rows):
        counts += (~np.isnan(np.asarray(X[start : start + chunk_rows])[:, columns])).sum(axis=0)
    return counts


def rows_without_observed(X):
    """Indices of the rows of X (dense, or CSR) whose every cell is missing (NaN)."""
    if sp.issparse(X):
        # Only the stored NaN need a row number: no index array as large as X's values.
        nan_positions = np.flatnonzero(np.isnan(X.data))
        row_of_nan = np.searchsorted(X.indptr, nan_positions, side="right") - 1
        missing = np.bincount(row_of_nan, minlength=X.shape[0])
        return np.flatnonzero(missing == X.shape[1])
    if np.isfinite(np.sum(X, dtype=np.float64)):
        return np.zeros(0, dtype=np.intp)
    return np.flatnonzero(np.isnan(X).all(axis=1))


def value_range(X):
    """The smallest and the largest observed value of X (dense, or CSR), NaN left out: (inf, -inf)
    when none is observed (no numeric column, or every cell missing), without a warning."""
    if not sp.issparse(X):
        return np.fmin.reduce(X, axis=None, initial=np.inf), np.fmax.reduce(X, axis=None, initial=-np.inf)
    low, high = np.nanmin(X.data, initial=np.inf), np.nanmax(X.data, initial=-np.inf)
    if X.nnz < X.shape[0] * X.shape[1]:  # some implicit zeros
        low, high = min(low, 0.0), max(high, 0.0)
    return low, high


def evenly_spaced_rows(n_samples, n_rows):
    """Indices of ``min(n_rows, n_samples)`` rows spread evenly over ``n_samples``, first and last
    included (all of them if ``n_rows >= n_samples``)."""
    return np.linspace(0, n_samples - 1, min(n_rows, n_samples)).astype(int)
