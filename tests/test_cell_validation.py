"""Early stopping for imputation: which cells are set aside, and how their prediction is scored."""

import numpy as np
import pandas as pd
import pytest
import torch

from skvae import VAETransformer
from skvae._cell_validation import hold_out_cells, prediction_error


def numeric_table(n_rows=50, n_columns=4, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_rows, n_columns)).astype(np.float32)
    X[rng.rand(n_rows, n_columns) < 0.3] = np.nan
    return X


def test_a_share_of_the_observed_cells_is_hidden_and_nothing_else():
    X = numeric_table()
    before = X.copy()
    X_train, X_val = hold_out_cells(X, starts=range(4), widths=[1] * 4, fraction=0.1, seed=0)
    held = np.isnan(X_train) & ~np.isnan(X)
    assert held.sum() == np.ceil(0.1 * (~np.isnan(X)).sum())
    np.testing.assert_array_equal(X, before)  # the caller's table is not written to
    np.testing.assert_array_equal(X_train[~held], X[~held])
    # X_val: each row with a held-out cell, as training sees it, beside its held-out cells.
    rows = held.any(axis=1)
    np.testing.assert_array_equal(X_val[:, :4], X_train[rows])
    np.testing.assert_array_equal(~np.isnan(X_val[:, 4:]), held[rows])
    np.testing.assert_array_equal(X_val[:, 4:][held[rows]], X[rows][held[rows]])


def test_the_same_seed_hides_the_same_cells():
    X = numeric_table()
    first = hold_out_cells(X, range(4), [1] * 4, 0.2, seed=3)[0]
    np.testing.assert_array_equal(first, hold_out_cells(X, range(4), [1] * 4, 0.2, seed=3)[0])
    assert not np.array_equal(np.isnan(first), np.isnan(hold_out_cells(X, range(4), [1] * 4, 0.2, seed=4)[0]))


def test_a_categorical_cell_is_hidden_as_its_whole_one_hot_block():
    # Column 0 numeric, column 1 a category of three levels (coded columns 1-3).
    rng = np.random.RandomState(0)
    X = np.hstack([rng.normal(size=(200, 1)), np.eye(3)[rng.randint(3, size=200)]]).astype(np.float32)
    X_train, _ = hold_out_cells(X, starts=[0, 1], widths=[1, 3], fraction=0.3, seed=0)
    block = np.isnan(X_train[:, 1:])
    assert block.any()
    assert np.all(block.all(axis=1) == block.any(axis=1))


def test_a_small_share_still_holds_out_one_cell():
    X = np.array([[1.0, np.nan], [2.0, 3.0]], dtype=np.float32)
    X_train, X_val = hold_out_cells(X, range(2), [1, 1], fraction=0.01, seed=0)
    assert np.isnan(X_train).sum() == 2 and X_val.shape == (1, 4)


def test_a_table_of_one_observed_cell_cannot_spare_it():
    X = np.array([[1.0, np.nan], [np.nan, np.nan]], dtype=np.float32)
    with pytest.raises(ValueError, match="cannot hold out validation_fraction=0.1 of the 1 observed cells"):
        hold_out_cells(X, range(2), [1, 1], fraction=0.1, seed=0)


def test_error_is_squared_error_for_numbers_and_brier_score_for_categories():
    table = pd.DataFrame({"x": [0.0, 1.0, 2.0], "kind": pd.Categorical(["a", "b", "c"])})
    layout = VAETransformer(standardize=False, max_iter=1).fit(table)._layout(torch.device("cpu"))
    prediction = torch.tensor([[1.5, 0.5, 0.5, 0.0]])  # the decoder's means, whatever the code
    nan = float("nan")
    # The row as training sees it (nothing), then its held-out cells: x = 1 and kind = "a".
    rows = torch.tensor([[nan] * 4 + [1.0, 1.0, 0.0, 0.0]])
    error = prediction_error(lambda x: x, lambda z: prediction, layout, rows)
    squared, brier = 0.5**2, 0.5**2 + 0.5**2 + 0.0**2
    assert float(error) == pytest.approx((squared + brier) / 2)
