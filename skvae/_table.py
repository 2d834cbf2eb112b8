"""A table's columns as the networks see them, and back.

Every estimator reads X through a :class:`TableEncoder`, fitted with the
estimator: it finds the categorical columns (pandas ``category`` or string
columns, or those the user names), remembers their categories and the
numeric columns' means and scales, and turns a table into one float array --
numeric columns as numbers (standardised when asked), each categorical
column as a one-hot block -- with NaN wherever a cell is missing. The
training loop slices that array into batches; ``_column_layout.ColumnLayout``
turns a batch into the networks' input and the mask of observed columns.
``decode`` goes back from the networks' outputs to the user's columns and
categories.

SciPy sparse X (CSR or CSC, kept as CSR) holds numbers only: it is coded as
it is, never densified here; an implicit zero is an observed zero, a stored
NaN a missing cell. The passes over all rows (``_column_statistics``)
read its stored values only. Which columns are categorical is
``_column_kinds``' business.

The fitted state is plain data (lists, strings and float arrays), so that it
can be saved as JSON (``_table_state``).
"""

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from sklearn.utils.validation import _check_feature_names, _check_n_features, check_array, validate_data

from ._column_kinds import (
    all_missing,
    categories_of,
    check_text_columns,
    column_values,
    dtype_name,
    find_categorical,
    frame_dtypes,
    is_categorical_column,
    refuse_temporal,
)
from ._column_layout import ColumnLayout
from ._column_statistics import column_statistics
from ._warnings import warn


class TableEncoder:
    """The fitted map between a table's columns and the networks' float inputs.

    Parameters
    ----------
    categorical_features : "from_dtype", None, or array-like
        As the estimators' parameter.

    standardize : "auto" or bool
        Standardise the numeric columns (to mean 0 and variance 1 over the
        observed cells); "auto" does so when X has categorical columns.
    """

    def __init__(self, categorical_features="from_dtype", standardize="auto", allow_empty=False):
        self.categorical_features = categorical_features
        self.standardize = standardize
        self.allow_empty = allow_empty

    def _numeric_values(self, estimator, X, *, reset):
        """A table of numbers only: a float array, or a canonical CSR matrix for sparse X."""
        X = _densify_nonzero_fill(X)
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
        standardized = self.standardize is True if reset else self.standardized
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

    # -- fitting ------------------------------------------------------------

    def fit_encode(self, estimator, X):
        """Learn the columns of X (setting the estimator's feature names) and code X."""
        if not hasattr(X, "shape"):  # a list of rows: an array, so that its columns can be named
            X = check_array(X, dtype=None, ensure_all_finite=False)
        n_features = X.shape[1] if len(X.shape) == 2 else None
        is_categorical = (
            np.zeros(0, dtype=bool)
            if n_features is None
            else find_categorical(X, self.categorical_features, n_features)
        )
        refuse_temporal(X, is_categorical)
        if isinstance(self.categorical_features, str):  # "from_dtype": the dtypes chose
            check_text_columns(X, is_categorical)
        self.categorical = [int(j) for j in np.flatnonzero(is_categorical)]
        self.categories = []
        if self.categorical and sp.issparse(X):
            raise TypeError(
                "Sparse X holds numbers only, but categorical_features names categorical columns: pass "
                "the categories one-hot encoded (e.g. OneHotEncoder) with categorical_features=None, or "
                "a dense table (e.g. a DataFrame) with the categorical columns."
            )
        if self.categorical:
            values = self._frame_to_array(estimator, X, reset=True)
        else:
            values = self._numeric_values(estimator, X, reset=True)
        self.n_columns = values.shape[1]
        dtypes = frame_dtypes(X)
        self.dtypes = None if dtypes is None else [dtype_name(dtype) for dtype in dtypes]
        counts, means, variances = column_statistics(values)
        empty = [int(j) for j in np.flatnonzero(counts == 0)]
        empty_categorical = [j for j in empty if j in self.categorical]
        # Numeric columns with no observed value (an imputer keeps them) are
        # never observed by the networks: they get mean 0 and scale 1.
        self.empty = empty if self.allow_empty and not empty_categorical else []
        if empty and not self.empty:
            raise ValueError(
                f"Column(s) {self._names(estimator, empty)} of X have no observed value: there is nothing "
                "to learn about them. Drop them, or impute them first."
            )
        self.center = means[self.numeric]
        scale = np.sqrt(variances[self.numeric])
        self.standardized = bool(self.categorical) if self.standardize == "auto" else bool(self.standardize)
        # Unstandardised columns reach the networks as they are (a Bernoulli likelihood reads
        # them in [0, 1]); center still holds their means, where missing cells are filled.
        self.centred = self.standardized
        # A constant column keeps its values (scale 1) rather than dividing by zero.
        self.scale = np.where(scale > 0, scale, 1.0) if self.standardized else np.ones_like(scale)
        return self._code(values)

    # -- properties of the fitted table ---------------------------------------

    @property
    def numeric(self):
        categorical = set(self.categorical)
        return [j for j in range(self.n_columns) if j not in categorical]

    @property
    def widths(self):
        """How many network inputs each column takes: 1, or its number of categories."""
        sizes = dict(zip(self.categorical, map(len, self.categories), strict=True))
        return [sizes.get(j, 1) for j in range(self.n_columns)]

    @property
    def width(self):
        return int(sum(self.widths))

    @property
    def starts(self):
        """Where each column's inputs start among the networks' inputs."""
        return np.cumsum([0, *self.widths[:-1]]).astype(np.intp)

    @property
    def numeric_positions(self):
        """The networks' inputs that hold the numeric columns."""
        return self.starts[self.numeric]

    @property
    def is_identity(self):
        """True when the networks read X's columns as they are."""
        return not self.categorical and not self.centred and not self.standardized

    def _names(self, estimator, columns):
        names = getattr(estimator, "feature_names_in_", None)
        return [str(names[j]) if names is not None else int(j) for j in columns]

    # -- table -> float array --------------------------------------------------

    def encode(self, estimator, X, return_values=False):
        """Validate X against the fitted columns and code it for the networks.

        With ``return_values``, also the table as floats before coding:
        numeric cells as they are, categories as their codes, NaN if missing.
        """
        if hasattr(X, "shape") and len(X.shape) == 2 and X.shape[1] == self.n_columns:
            is_categorical = np.zeros(self.n_columns, dtype=bool)
            is_categorical[self.categorical] = True
            refuse_temporal(X, is_categorical)
        if not self.categorical:
            values = self._numeric_values(estimator, X, reset=False)
        elif sp.issparse(X):
            raise TypeError(
                "This model was fitted on a table with categorical columns; sparse X holds numbers only. "
                "Pass a dense table with the columns it had in fit."
            )
        else:
            values = self._frame_to_array(estimator, X, reset=False)
        coded = self._code(values)
        return (coded, values) if return_values else coded

    def _frame_to_array(self, estimator, X, *, reset):
        """A table with categorical columns as floats: numbers, category codes, NaN when missing."""
        if not hasattr(X, "shape") or len(X.shape) != 2:
            X = check_array(X, dtype=None, ensure_all_finite=False)  # raises scikit-learn's 1-D error
        _check_feature_names(estimator, X, reset=reset)
        _check_n_features(estimator, X, reset=reset)
        if X.shape[0] < 1:
            raise ValueError(
                f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is required."
            )
        dtypes = frame_dtypes(X)
        if not reset and dtypes is not None and self.dtypes is not None:
            self._check_kinds(estimator, X, dtypes)
        if reset:
            self.categories = []
        categorical = set(self.categorical)
        # A frame of float32 numbers (and categories) is coded, and transformed, in float32.
        numeric_dtypes = {str(dtype) for j, dtype in enumerate(dtypes or []) if j not in categorical}
        values = np.empty(X.shape, dtype=np.float32 if numeric_dtypes == {"float32"} else np.float64)
        for j in range(X.shape[1]):
            column = column_values(X, j)
            if j not in categorical and not reset and not _numeric_dtype(column) and all_missing(column):
                values[:, j] = np.nan  # None and pd.NA too, whatever dtype they gave the column
                continue
            if j not in categorical:
                values[:, j] = check_array(
                    _as_floats_or_objects(column).reshape(-1, 1),
                    dtype=np.float64,
                    ensure_all_finite="allow-nan",
                    input_name=f"X column {self._names(estimator, [j])[0]!r}",
                ).ravel()
                continue
            if reset:
                self.categories.append(categories_of(column))
            position = self.categorical.index(j)
            values[:, j] = self._category_codes(estimator, column, j, self.categories[position])
        return values

    def _check_kinds(self, estimator, X, dtypes):
        """Refuse a column whose dtype says the other kind. A dtype as in fit keeps fit's kind (an
        object column's values decided it then, and a few rows now may say otherwise); a column with
        no observed cell says nothing (a new row's missing cell, None or NaN, gives it an object or
        float dtype)."""
        for j, dtype in enumerate(dtypes):
            was_categorical = j in self.categorical
            if (
                dtype_name(dtype) != self.dtypes[j]
                and is_categorical_column(X, j, dtype) != was_categorical
                and self.categorical_features == "from_dtype"
                and not all_missing(column_values(X, j))
            ):
                name = self._names(estimator, [j])[0]
                raise ValueError(
                    f"Column {name!r} was {'categorical' if was_categorical else 'numeric'} "
                    f"({self.dtypes[j]}) in fit and is {dtype_name(dtype)} now: give it the dtype it had "
                    "in fit."
                )

    def _category_codes(self, estimator, column, j, categories):
        series = pd.Series(np.asarray(column, dtype=object))
        missing = series.isna().to_numpy()
        codes = pd.Index(categories, dtype=object).get_indexer(series.where(~missing)).astype(np.float64)
        unknown = (codes < 0) & ~missing
        if unknown.any():
            distinct = {str(value) for value in series[unknown]}
            warn(
                f"Column {self._names(estimator, [j])[0]!r} has categories not seen in fit "
                f"({', '.join(sorted(distinct)[:5])}{', ...' if len(distinct) > 5 else ''}): those cells are "
                "treated as missing."
            )
        codes[codes < 0] = np.nan
        return codes

    def _code(self, values):
        """Standardise the numeric columns and expand the categorical ones into one-hot blocks."""
        if self.is_identity:
            return values
        dtype = values.dtype if values.dtype in (np.float32, np.float64) else np.float64
        columns = []
        categorical = dict(zip(self.categorical, self.categories, strict=True))
        numeric_position = {j: i for i, j in enumerate(self.numeric)}
        for j in range(self.n_columns):
            column = values[:, j]
            if j in categorical:
                codes = column
                block = np.zeros((len(column), len(categorical[j])), dtype=dtype)
                observed = ~np.isnan(codes)
                block[np.flatnonzero(observed), codes[observed].astype(np.intp)] = 1.0
                block[~observed] = np.nan
                columns.append(block)
            else:
                i = numeric_position[j]
                offset = self.center[i] if self.centred else 0.0
                columns.append(((column - offset) / self.scale[i]).astype(dtype)[:, None])
        return np.hstack(columns)

    # -- float array -> table ----------------------------------------------------

    def decode(self, estimator, values, as_frame):
        """The networks' means (numeric values, category probabilities) as the user's columns.

        Returns a float array when every column is numeric; otherwise a
        pandas DataFrame (``as_frame``) or an object array holding each
        categorical column's most probable category.
        """
        if self.is_identity:
            return values
        return self.to_table(estimator, self.uncode(values), as_frame)

    def uncode(self, coded):
        """From the networks' means to one float per column: numbers, or the most probable category's code."""
        starts = self.starts
        values = np.empty((coded.shape[0], self.n_columns), dtype=coded.dtype)
        offset = self.center if self.centred else 0.0
        values[:, self.numeric] = coded[:, self.numeric_positions] * self.scale + offset
        for j, categories in zip(self.categorical, self.categories, strict=True):
            values[:, j] = coded[:, starts[j] : starts[j] + len(categories)].argmax(axis=1)
        return values

    def to_table(self, estimator, values, as_frame, columns=None, index=None):
        """Floats per column (category codes for categorical columns) as the user's table.

        A float array when every column is numeric; otherwise a pandas
        DataFrame of floats and categories (``as_frame``; with ``index``,
        the rows' index) or an object array of numbers and category labels.
        ``columns`` picks some of the fitted columns (all by default).
        """
        columns = range(self.n_columns) if columns is None else columns
        if not self.categorical:
            return values
        names = getattr(estimator, "feature_names_in_", None)
        names = [str(names[j]) if names is not None else f"x{j}" for j in columns]
        data = {}
        for position, (j, name) in enumerate(zip(columns, names, strict=True)):
            column = values[:, position]
            if j not in self.categorical:
                data[name] = column
                continue
            labels = np.asarray(self.categories[self.categorical.index(j)], dtype=object)
            missing = np.isnan(column)
            cells = np.empty(len(column), dtype=object)
            cells[~missing] = labels[column[~missing].astype(np.intp)]
            cells[missing] = np.nan
            if as_frame and self.dtypes is not None and self.dtypes[j] == "category":
                data[name] = pd.Categorical(cells, categories=labels.tolist())
            else:
                data[name] = cells
        if as_frame:
            return pd.DataFrame(data, index=index)
        return np.column_stack([np.asarray(column, dtype=object) for column in data.values()])

    # -- what the networks see -----------------------------------------------------

    def layout(self, device):
        """The column positions and fill values as tensors on ``device`` (cached)."""
        cache = self.__dict__.setdefault("_layouts", {})
        if device not in cache:
            # Normal tensors even when first asked for under inference_mode:
            # explanations index with them in computations that autograd tracks.
            with torch.inference_mode(False):
                cache[device] = ColumnLayout(self, device)
        return cache[device]

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_layouts", None)  # tensors on some device, rebuilt on demand
        return state


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


def _numeric_dtype(column):
    dtype = getattr(column, "dtype", None)
    return dtype is not None and pd.api.types.is_numeric_dtype(dtype)


def _as_floats_or_objects(column):
    """A numeric column as a NumPy array, pandas' NA as NaN: nullable columns (Int64, boolean)
    holding NA convert to floats only so."""
    dtype = getattr(column, "dtype", None)
    if isinstance(column, pd.Series) and not isinstance(dtype, np.dtype):
        return column.to_numpy(dtype=object, na_value=np.nan)
    return np.asarray(column)
