"""A table as the user gives it, read into one float array: numbers as they are, each categorical
column as its category codes, NaN wherever a cell is missing.

The first step of every estimator's input; ``_table.TableEncoder`` then codes the
array for the networks. scikit-learn's own checks run here -- ``validate_data``
for tables of numbers, its feature-name and feature-count checks for tables with
categorical columns -- so that errors read as for any scikit-learn estimator.
After fit, a column whose dtype says the other kind is refused (where the dtypes
chose the kinds, ``categorical_features="from_dtype"``), and a category not seen
in fit is a missing cell, with a warning.
"""

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils.validation import _check_feature_names, _check_n_features, check_array, validate_data

from ._column_kinds import (
    all_missing,
    categories_of,
    column_values,
    dtype_name,
    frame_dtypes,
    is_categorical_column,
)
from ._warnings import warn


def read_numbers(estimator, X, *, reset, standardized):
    """A table of numbers only: a float array, or a canonical CSR matrix for sparse X.

    ``standardized``: whether the columns are to be centred, which sparse X
    cannot be without becoming dense.
    """
    _refuse_non_numbers(X, frame_dtypes(X))
    X = _object_na_as_nan(_densify_nonzero_fill(X))
    # Values near float64's largest overflow scikit-learn's quick finiteness check (a sum), which
    # then checks them one by one; its RuntimeWarning would precede skvae's own error about them.
    with np.errstate(over="ignore", invalid="ignore"):
        values = validate_data(
            estimator,
            X,
            accept_sparse=["csr", "csc"],
            dtype=[np.float64, np.float32],
            ensure_all_finite="allow-nan",
            reset=reset,
        )
    if values.dtype not in (np.float32, np.float64):
        # scikit-learn keeps the dtype of a DataFrame of pandas sparse columns (get_dummies(sparse=True)).
        values = values.astype(np.float64)
    if not sp.issparse(values):
        return values
    if standardized:
        raise ValueError(
            "standardize=True would centre X's columns, which makes sparse X dense. Scale sparse X "
            "without centring first (StandardScaler(with_mean=False) or MaxAbsScaler) and keep "
            "standardize='auto' or False."
        )
    # Rows are what the training batches take: CSR. Duplicate entries are
    # summed (on a copy) so that every cell is stored at most once.
    csr = values.tocsr()
    if not csr.has_canonical_format:
        csr = csr.copy() if csr is X else csr
        csr.sum_duplicates()
    return csr


def _refuse_non_numbers(X, dtypes, categorical=()):
    """A TypeError naming a frame's column of nested values, or of intervals (not one of
    ``categorical``), which scikit-learn's own conversion to floats would refuse without naming it.
    ``dtypes``: the frame's (``frame_dtypes``), None for an array."""
    for j, (name, dtype) in enumerate(zip(getattr(X, "columns", ()), dtypes or (), strict=True)):
        if getattr(dtype, "is_nested", lambda: False)():  # polars Struct, List, Array: no category either
            raise TypeError(
                f"X column {str(name)!r} holds nested values ({dtype}): skvae reads numbers and "
                "categories. Give each field or element a column of its own."
            )
        if isinstance(dtype, pd.IntervalDtype) and j not in categorical:
            raise _not_numbers(str(name), dtype)


def _not_numbers(name, dtype):
    return TypeError(
        f"X column {name!r} holds values that are neither numbers nor text ({dtype}): name it in "
        "categorical_features to read each value as a category, or convert it to numbers."
    )


def read_table(estimator, X, categorical, categories=None, *, fitted_dtypes=None, unseen_note=None):
    """A table with categorical columns as floats: numbers, category codes, NaN when missing.

    ``categorical`` lists the categorical columns. In fit (``categories``
    None) each one's categories are learnt from X; later, X is coded with
    the fitted ``categories``, and, given ``fitted_dtypes``, a column whose
    dtype now says the other kind is refused. A label the categories lack
    is missing, with a warning, to which ``unseen_note(column)`` adds what
    else becomes of it. Returns the values and the categories.
    """
    reset = categories is None
    if not hasattr(X, "shape") or len(X.shape) != 2:
        X = check_array(X, dtype=None, ensure_all_finite=False)  # raises scikit-learn's 1-D error
    _check_feature_names(estimator, X, reset=reset)
    _check_n_features(estimator, X, reset=reset)
    if X.shape[0] < 1:
        raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is required.")
    dtypes = frame_dtypes(X)
    _refuse_non_numbers(X, dtypes, set(categorical))
    if not reset and dtypes is not None and fitted_dtypes is not None:
        _check_kinds(estimator, X, dtypes, categorical, fitted_dtypes)
    categories = [] if reset else categories
    is_categorical = set(categorical)
    # A frame of float32 numbers (and categories), or a float32 array, is coded, and transformed,
    # in float32.
    numeric_dtypes = {str(dtype) for j, dtype in enumerate(dtypes or []) if j not in is_categorical}
    if dtypes is None and getattr(X, "dtype", None) == np.float32:
        numeric_dtypes = {"float32"}
    values = np.empty(X.shape, dtype=np.float32 if numeric_dtypes == {"float32"} else np.float64)
    for j in range(X.shape[1]):
        column = column_values(X, j)
        if j not in is_categorical and not reset and not _numeric_dtype(column) and all_missing(column):
            values[:, j] = np.nan  # None and pd.NA too, whatever dtype they gave the column
            continue
        if j not in is_categorical:
            values[:, j] = _numbers(estimator, column, j, dtypes[j] if dtypes is not None else None)
            continue
        if np.iscomplexobj(column):  # as OneHotEncoder refuses complex labels
            raise ValueError(f"Complex data not supported: X column {column_names(estimator, [j])[0]!r}.")
        if _numeric_dtype(column) and np.isinf(_as_floats_or_objects(column).astype(float)).any():
            # as OneHotEncoder refuses them, and as skvae refuses them in numeric columns
            raise ValueError(
                f"Input X contains infinity in its categorical column {column_names(estimator, [j])[0]!r}."
            )
        if reset:
            categories.append(categories_of(column, dtypes[j] if dtypes is not None else None))
        values[:, j] = _category_codes(estimator, column, j, categories[categorical.index(j)], unseen_note)
    return values, categories


def column_names(estimator, columns):
    """The names of some of X's columns, for messages: fit's feature names, else their indices."""
    names = getattr(estimator, "feature_names_in_", None)
    return [str(names[j]) if names is not None else int(j) for j in columns]


def _check_kinds(estimator, X, dtypes, categorical, fitted_dtypes):
    """Refuse a column whose dtype says the other kind. A dtype as in fit keeps fit's kind (an
    object column's values decided it then, and a few rows now may say otherwise); a column with
    no observed cell says nothing (a new row's missing cell, None or NaN, gives it an object or
    float dtype)."""
    for j, dtype in enumerate(dtypes):
        was_categorical = j in categorical
        if (
            dtype_name(dtype) != fitted_dtypes[j]
            and is_categorical_column(X, j, dtype) != was_categorical
            and not all_missing(column_values(X, j))
        ):
            name = column_names(estimator, [j])[0]
            raise ValueError(
                f"Column {name!r} was {'categorical' if was_categorical else 'numeric'} "
                f"({fitted_dtypes[j]}) in fit and is {dtype_name(dtype)} now: give it the dtype it had "
                "in fit."
            )


def _category_codes(estimator, column, j, categories, unseen_note=None):
    series = pd.Series(np.asarray(column, dtype=object))
    missing = series.isna().to_numpy()
    codes = pd.Index(categories, dtype=object).get_indexer(series.where(~missing)).astype(np.float64)
    unknown = (codes < 0) & ~missing
    if unknown.any():
        distinct = {str(value) for value in series[unknown]}
        warn(
            f"Column {column_names(estimator, [j])[0]!r} has categories not seen in fit "
            f"({', '.join(sorted(distinct)[:5])}{', ...' if len(distinct) > 5 else ''}): the networks "
            f"read those cells as missing{'' if unseen_note is None else unseen_note(j)}."
        )
    codes[codes < 0] = np.nan
    return codes


def _densify_nonzero_fill(X):
    """X with its pandas sparse columns that leave out another value than 0 made dense.

    A float column's fill value is NaN by default: the cells it leaves out are missing, where
    a SciPy matrix (scikit-learn's conversion) would read them as observed zeros.
    """
    if not isinstance(X, pd.DataFrame):
        return X
    filled = [
        j for j, dtype in enumerate(X.dtypes) if isinstance(dtype, pd.SparseDtype) and dtype.fill_value != 0
    ]
    if not filled:
        return X
    X = X.copy(deep=False)
    for j in filled:
        X.isetitem(j, X.iloc[:, j].sparse.to_dense())
    return X


def _object_na_as_nan(X):
    """X with its missing cells as NaN in an object array or a frame's object columns: scikit-learn
    reads None there as NaN, but no float conversion takes pandas' NA (a copy only where needed)."""
    if isinstance(X, (list, tuple)):
        X = np.asarray(X, dtype=object)  # each cell as given, converted by scikit-learn below
    if isinstance(X, np.ndarray) and X.dtype == object:
        missing = pd.isna(X)
        return np.where(missing, np.nan, X) if missing.any() else X
    if not isinstance(X, pd.DataFrame):
        return X
    held = [j for j, dtype in enumerate(X.dtypes) if dtype == np.dtype(object) and X.iloc[:, j].isna().any()]
    if not held:
        return X
    X = X.copy(deep=False)
    for j in held:
        X.isetitem(j, X.iloc[:, j].where(X.iloc[:, j].notna(), np.nan))
    return X


def _numbers(estimator, column, j, dtype):
    """Column j, read as numbers, as floats (NaN where missing)."""
    name = column_names(estimator, [j])[0]
    try:
        return check_array(
            _as_floats_or_objects(column).reshape(-1, 1),
            dtype=np.float64,
            ensure_all_finite="allow-nan",
            input_name=f"X column {name!r}",
        ).ravel()
    except TypeError as error:  # objects float() does not take, in an object column
        raise _not_numbers(name, dtype or column.dtype) from error


def _numeric_dtype(column):
    dtype = getattr(column, "dtype", None)
    return dtype is not None and pd.api.types.is_numeric_dtype(dtype)


def _as_floats_or_objects(column):
    """A numeric column as a NumPy array, pandas' NA as NaN: nullable columns (Int64, boolean)
    and object columns holding NA convert to floats only so."""
    dtype = getattr(column, "dtype", None)
    if isinstance(column, pd.Series) and not isinstance(dtype, np.dtype):
        return column.to_numpy(dtype=object, na_value=np.nan)
    return _object_na_as_nan(np.asarray(column))
