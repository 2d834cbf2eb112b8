"""Early stopping for imputation: observed cells set aside, and the error of predicting them.

Early stopping elsewhere holds out rows, and asks how well the model fits
rows it has not seen. An imputer is asked something else: to predict cells
it has not seen in rows it has. So it sets aside a share of the observed
cells of the training table, hides them from training, and after each epoch
predicts them from the rest of their row.

The training loss cannot stand in for this: on a small table it stops
improving early by chance (an epoch of 150 rows is one noisy optimizer
step), and when it does keep improving the network may be learning the
training cells by heart. Iris with 20% of its cells hidden: stopping on the
loss gave an MSE of 0.42 after 34 to 92 epochs, stopping on held-out cells
0.31 (standardised units, seeds 0-2; ``benchmarks/bench_impute_numeric.py``).
"""

import math

import numpy as np
import torch


def hold_out_cells(X, starts, widths, fraction, seed):
    """Hide ``fraction`` of the observed cells of the coded table ``X`` from training.

    Parameters
    ----------
    X : ndarray of shape (n_samples, width)
        Coded rows: input column j spans ``X[:, starts[j] : starts[j] + widths[j]]``
        (one-hot blocks for categorical columns), NaN where a cell is missing.

    starts, widths : sequences of int
        Where each input column sits in X, and how wide it is.

    fraction : float
        Share of the observed cells to hide, rounded up to a whole number of
        cells (as early stopping's share of rows is).

    seed : int
        Which cells: the same seed hides the same ones.

    Returns
    -------
    X_train : ndarray of shape (n_samples, width)
        X with the held-out cells missing.

    X_val : ndarray of shape (n_held_rows, 2 * width)
        For each row with a held-out cell, the row as training sees it and,
        beside it, its held-out cells (NaN elsewhere).

    Raises
    ------
    ValueError
        When training or validation would be left without an observed cell.
    """
    starts = np.asarray(starts)
    observed = np.flatnonzero(~np.isnan(X[:, starts]))  # flat (row, input column) indices
    n_held = math.ceil(fraction * observed.size)
    if n_held >= observed.size:
        raise ValueError(
            f"early_stopping=True cannot hold out validation_fraction={fraction} of the {observed.size} "
            "observed cells of X: both the training and the validation set need at least one observed cell."
        )
    held = np.zeros(X.shape[0] * len(starts), dtype=bool)
    held[np.random.RandomState(seed).choice(observed, n_held, replace=False)] = True
    # From input columns to the coded columns they span.
    held = np.repeat(held.reshape(X.shape[0], len(starts)), widths, axis=1)
    X_train = np.where(held, np.nan, X).astype(X.dtype, copy=False)
    rows = held.any(axis=1)
    targets = np.where(held, X, np.nan).astype(X.dtype, copy=False)
    return X_train, np.hstack([X_train, targets])[rows]


def prediction_error(encode, decode, layout, rows):
    """Mean error of predicting the held-out cells of ``rows`` (packed by ``hold_out_cells``).

    Each row is encoded from the cells training sees, and its held-out cells
    are compared with the decoder's means at that code: the squared error of
    a numeric cell, in the units the networks see (standardised columns: in
    standard deviations), and of a categorical cell the Brier score, the
    squared distance between the predicted probabilities and the category's
    one-hot vector (between 0 and 2). A deterministic number: no sampling.
    """
    width = rows.shape[1] // 2
    inputs, targets = rows[:, :width], rows[:, width:]
    held = ~torch.isnan(targets)
    means = decode(encode(inputs))
    squared = torch.where(held, (means - torch.nan_to_num(targets)).square(), 0.0)
    n_cells = layout.observed_columns(held).sum()
    return squared.sum() / n_cells.clamp(min=1)
