"""What marks a missing cell: a placeholder (``missing_values``) read as NaN, and the indicator
of the cells that were missing.

Every table skvae reads takes NaN (and None, pandas' NA, polars' null) as a missing
cell; :class:`~skvae.VAEImputer` lets another value mark them, as scikit-learn's
imputers do. ``as_nan`` turns that value into NaN in a NumPy array (a copy), a pandas
frame or a polars frame, and refuses what cannot hold NaN without densifying.
"""

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils._missing import is_scalar_nan

from ._column_kinds import polars_frame


def as_nan(X, missing_values):
    """X with every ``missing_values`` cell as NaN (a copy only when needed)."""
    if sp.issparse(X) or (
        isinstance(X, pd.DataFrame) and any(isinstance(dtype, pd.SparseDtype) for dtype in X.dtypes)
    ):
        # The first step of VAEImputer's fit and transform: refused before any densifying.
        raise TypeError(
            "VAEImputer does not accept sparse X (nor pandas sparse columns): its output is X with every "
            "missing cell filled in, a dense array as large as X.toarray(), so there is no memory to "
            "save. Pass X.toarray() (or X.sparse.to_dense()); the other skvae estimators accept sparse X."
        )
    value = missing_values
    if is_nan_placeholder(value):
        return X  # the table reads NaN, None and pd.NA as missing already
    if polars_frame(X):
        _refuse_nan(_polars_has_missing(X, count_null=value is not None), value)
        # A polars null is a missing cell already: None marks nothing more.
        return X if value is None else _polars_as_null(X, value)
    if isinstance(X, pd.DataFrame):
        _refuse_nan(_has_missing(X, value), value)
        return _frame_as_nan(X, value)
    users_X = X
    X = np.array(X)  # a copy: the user's X is never written to
    if X.dtype.kind in "US":
        # A text array would store NaN as the text "nan", and a list that mixes numbers and
        # text made its numbers text (-1 as "-1"): its cells as objects, as the user gave them.
        X = X.astype(object) if isinstance(users_X, np.ndarray) else np.array(users_X, dtype=object)
    _refuse_nan(_has_missing(X, value), value)
    if isinstance(value, str) and X.dtype.kind in "biufc":
        raise ValueError(
            "'X' and 'missing_values' types are expected to be both numerical. Got "
            f"X.dtype={X.dtype} and type(missing_values)={type(value)}."
        )
    if X.dtype.kind in "biu":
        X = X.astype(np.float64)
    X[np.equal(X, value)] = np.nan
    return X


def _frame_as_nan(X, value):
    """A pandas frame with NaN wherever it holds ``value``, each column keeping its kind."""
    hidden = X.eq(value).fillna(False).astype(bool)
    masked = X.mask(hidden)
    for j in range(X.shape[1]):
        dtype = X.dtypes.iloc[j]
        if isinstance(dtype, pd.CategoricalDtype) and value in dtype.categories:
            # The placeholder is no category: it is never learnt, nor imputed. (set_categories
            # keeps the others' order, which pandas' remove_categories sorts.)
            kept = [label for label in dtype.categories if label != value]
            masked.isetitem(j, masked.iloc[:, j].cat.set_categories(kept))
        elif pd.api.types.is_bool_dtype(dtype) and dtype != "boolean" and hidden.iloc[:, j].any():
            # True and NaN would make an object column, read as categorical: numbers, as in fit.
            masked.isetitem(j, masked.iloc[:, j].astype(np.float64))
    return masked


def _refuse_nan(has_nan, value):
    """As scikit-learn's imputers: with another placeholder, NaN is no missing cell, nor a value."""
    if has_nan:
        raise ValueError(
            f"Input X contains NaN, but missing_values={value!r}: VAEImputer imputes the cells equal to "
            "missing_values and reads no NaN otherwise, as scikit-learn's imputers do. Set "
            "missing_values=np.nan (and mark the missing cells with NaN), or fill the NaN first."
        )


def _has_missing(X, value):
    """Whether an array or pandas frame holds a missing cell (NaN, None, pandas' NA) other than the
    placeholder ``value``: None, the placeholder itself, is no NaN."""
    missing = np.asarray(pd.isna(X))
    if value is None and missing.any():  # only then the cells as objects, to tell None from NaN
        missing = missing & ~np.equal(np.asarray(X, dtype=object), None)
    return bool(missing.any())


def _polars_has_missing(X, count_null):
    """Whether a polars frame holds a NaN in a float column (read as missing), or a null where
    ``count_null`` (nulls are the placeholder None otherwise)."""
    if count_null and any(count for count in X.null_count().row(0)):
        return True
    return any(X.get_column(name).is_nan().any() for name, dtype in X.schema.items() if dtype.is_float())


def is_nan_placeholder(value):
    """Whether ``missing_values`` means the cells that are missing already: NaN (of any float
    type) or pandas' NA."""
    return value is pd.NA or is_scalar_nan(value)


def _polars_as_null(X, value):
    """A polars frame with null wherever a column of a comparable type holds ``value``."""
    import polars as pl  # X is a polars frame: polars is there

    def comparable(dtype):
        if isinstance(value, str):
            return dtype in (pl.String, pl.Categorical) or isinstance(dtype, (pl.Categorical, pl.Enum))
        return dtype.is_numeric()

    def as_null(name, dtype):
        column = pl.when(pl.col(name) == value).then(None).otherwise(pl.col(name))
        if isinstance(dtype, pl.Enum) and value in dtype.categories:
            # The placeholder is no category, as for pandas (_frame_as_nan).
            column = column.cast(pl.Enum([label for label in dtype.categories if label != value]))
        return column.alias(name)

    return X.with_columns(as_null(name, dtype) for name, dtype in X.schema.items() if comparable(dtype))


def fitted_indicator(missing):
    """The MissingIndicator of a table whose cells are missing where ``missing`` is True.

    skvae.save keeps the columns it marks, and rebuilds it from one row missing in those columns.
    """
    from sklearn.impute import MissingIndicator  # only when asked: it imports much of scikit-learn

    indicator = MissingIndicator(error_on_new=False).set_output(transform="default")
    return indicator.fit(missing_as_nan(missing))


def missing_as_nan(missing):
    """What MissingIndicator reads: NaN where a cell is missing."""
    return np.where(missing, np.nan, 0.0)
