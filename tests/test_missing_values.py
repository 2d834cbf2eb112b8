"""A placeholder marks missing cells, read as NaN; the indicator marks them (skvae._missing_values)."""

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from skvae._missing_values import as_nan, fitted_indicator


def test_a_placeholder_becomes_nan_in_a_copy_of_an_integer_array():
    X = np.array([[1, -1], [2, 3]])
    out = as_nan(X, -1)
    assert out.dtype == np.float64 and np.isnan(out[0, 1]) and np.isfinite(out[1]).all()
    assert X[0, 1] == -1  # the user's array is left as it was


def test_a_text_array_becomes_objects_so_that_nan_is_not_the_text_nan():
    out = as_nan(np.array([["a", "?"], ["b", "c"]]), "?")
    assert out.dtype == object and out[0, 1] != out[0, 1]  # NaN


def test_nan_and_pandas_na_mark_the_cells_missing_already_and_need_no_copy():
    # The table reads NaN, None and pd.NA as missing (test_table checks how).
    for X, value in [(np.array([[1.0, np.nan]]), np.nan), (np.array([[1.0, pd.NA]], dtype=object), pd.NA)]:
        assert as_nan(X, value) is X


def test_a_list_mixing_numbers_and_text_keeps_its_numbers_as_numbers():
    # np.array would make every cell text, -1 the text "-1", which no placeholder -1 equals.
    out = as_nan([[1.0, "a"], [-1, "b"]], -1)
    assert out.dtype == object and out[0, 0] == 1.0 and out[1, 1] == "b"
    assert out[1, 0] != out[1, 0]  # NaN


def test_a_polars_null_is_missing_already_so_none_marks_nothing_more():
    pl = pytest.importorskip("polars")
    X = pl.DataFrame({"a": [1.0, None, 3.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # polars warns of comparisons with None
        assert as_nan(X, None) is X


@pytest.mark.parametrize(
    "X", [sp.csr_matrix(np.eye(2)), pd.DataFrame({"a": [0.0, 1.0]}).astype(pd.SparseDtype(float, 0.0))]
)
def test_sparse_input_is_refused_before_it_is_densified(X):
    with pytest.raises(TypeError, match="does not accept sparse X"):
        as_nan(X, np.nan)


def test_the_indicator_marks_the_columns_with_a_missing_cell():
    indicator = fitted_indicator(np.array([[False, True, False], [False, False, True]]))
    assert list(indicator.features_) == [1, 2]


def test_a_placeholder_is_no_category_of_a_category_column():
    frame = pd.DataFrame({"c": pd.Categorical(["x", "?", "y"]), "d": pd.Categorical(["u", "v", "u"])})
    out = as_nan(frame, "?")
    assert list(out["c"].cat.categories) == ["x", "y"] and out["c"].isna().tolist() == [False, True, False]
    assert out["d"].dtype == frame["d"].dtype
    assert list(frame["c"].cat.categories) == ["?", "x", "y"]  # the user's frame is left as it was


def test_a_bool_column_with_a_placeholder_stays_a_column_of_numbers():
    out = as_nan(pd.DataFrame({"f": [True, False, True]}), 0)
    assert out["f"].dtype == np.float64 and out["f"].isna().tolist() == [False, True, False]
