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
``_column_kinds``' business; reading the user's table into floats (numbers and
category codes), with scikit-learn's checks, is ``_table_input``'s.

The fitted state is plain data (lists, strings and float arrays), so that it
can be saved as JSON (``_table_state``).
"""

import copy

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from sklearn.utils.validation import check_array

from ._column_checks import (
    check_standardized_range,
    refuse_below_float32,
    refuse_too_wide_to_standardize,
    warn_learnt_late,
    warn_scaled_as_constant,
    warn_unscaled,
)
from ._column_kinds import (
    ORDERED_CATEGORY,
    check_text_columns,
    column_values,
    dtype_name,
    find_categorical,
    frame_dtypes,
    is_category_dtype_name,
    label_dtype,
    refuse_temporal,
)
from ._column_layout import ColumnLayout
from ._column_statistics import column_statistics
from ._table_input import column_names, read_numbers, read_table


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
            values, self.categories = read_table(estimator, X, self.categorical)
        else:
            values = read_numbers(estimator, X, reset=True, standardized=self.standardize is True)
        self.n_columns = values.shape[1]
        dtypes = frame_dtypes(X)
        self.dtypes = None if dtypes is None else [dtype_name(dtype) for dtype in dtypes]
        counts, means, variances, lows, highs = column_statistics(values)
        empty = [int(j) for j in np.flatnonzero(counts == 0)]
        empty_categorical = [j for j in empty if j in self.categorical]
        # Numeric columns with no observed value (an imputer keeps them) are
        # never observed by the networks: they get mean 0 and scale 1.
        self.empty = empty if self.allow_empty and not empty_categorical else []
        if empty and not self.empty:
            raise ValueError(
                f"Column(s) {column_names(estimator, empty)} of X have no observed value: there is nothing "
                "to learn about them. Drop them, or impute them first."
            )
        constant = lows == highs  # never for sparse X (NaN): it is never standardised
        self.constant = [j for j in self.numeric if constant[j]]
        means[self.constant] = lows[self.constant]  # its value, not a mean rounded beside it
        self.center = means[self.numeric]
        scale = np.sqrt(variances[self.numeric])
        # Values below 1e-154 square to 0 in float64: a column of them that varies takes its range.
        with np.errstate(over="ignore", invalid="ignore"):  # beyond float64: refused just below
            spread = (highs - lows)[self.numeric]
        underflowed = (scale == 0) & (spread > 0)
        scale[underflowed] = spread[underflowed]
        self.standardized = self.standardizes(self.standardize)
        if self.standardized:
            refuse_too_wide_to_standardize(
                estimator, np.asarray(self.numeric), counts[self.numeric] > 0, scale, spread
            )
        # Unstandardised columns reach the networks as they are (a Bernoulli likelihood reads
        # them in [0, 1]); center still holds their means, where missing cells are filled.
        self.centred = self.standardized
        # A constant column keeps its values (scale 1) rather than dividing by zero, or by the
        # rounding error of its variance (2e-34 for three cells of 0.1).
        varies = (scale > 0) & ~constant[self.numeric]
        self.scale = np.where(varies, scale, 1.0) if self.standardized else np.ones_like(scale)
        if not self.standardized:
            refuse_below_float32(estimator, np.asarray(self.numeric), lows[self.numeric], highs[self.numeric])
        if self.standardize == "auto" and not self.standardized and not sp.issparse(values):
            warn_unscaled(estimator, self.center[varies], scale[varies], np.asarray(self.numeric)[varies])
        return self._code(estimator, values)

    def still_constant(self, estimator, coded):
        """This table, or a copy whose ``constant`` leaves out the columns to which the coded rows
        ``coded`` (a continued fit's training rows) give another value; a standardised table warns
        of them, which it reads unscaled."""
        varies = self._varied_constants(coded)
        if not varies.any():
            return self
        if self.standardized:
            warn_scaled_as_constant(estimator, np.asarray(self.constant)[varies])
        table = copy.copy(self)
        table.constant = [j for j, changed in zip(self.constant, varies, strict=True) if not changed]
        return table

    def _varied_constants(self, coded, chunk_cells=2**20):
        """Which of the ``constant`` columns the coded rows give another value: one beyond
        float32's rounding of it (the networks read float32; a frame in float32 holds 0.1 as
        0.10000000149), read a chunk of rows at a time (X may be a memory map)."""
        varies = np.zeros(len(self.constant), dtype=bool)
        if not self.constant:
            return varies
        positions = self.starts[self.constant]
        values = self.constant_values
        # The value as _code codes it: less the centre (itself) where centred, over a scale of 1.
        coded_value = np.zeros(len(values)) if self.centred else values
        tolerance = np.finfo(np.float32).eps * np.abs(values)
        chunk_rows = max(1, chunk_cells // len(positions))
        for start in range(0, coded.shape[0], chunk_rows):
            cells = coded[start : start + chunk_rows][:, positions]
            # Sparse rows after a dense fit: their zeros are values.
            cells = cells.toarray() if sp.issparse(cells) else np.asarray(cells, dtype=np.float64)
            varies |= (np.abs(cells - coded_value) > tolerance).any(axis=0)  # NaN compares False
        return varies

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
    def constant_values(self):
        """The values of the ``constant`` columns (numeric columns with one value in fit)."""
        index = {j: i for i, j in enumerate(self.numeric)}
        return self.center[[index[j] for j in self.constant]]

    @property
    def numeric_positions(self):
        """The networks' inputs that hold the numeric columns."""
        return self.starts[self.numeric]

    @property
    def is_identity(self):
        """True when the networks read X's columns as they are."""
        return not self.categorical and not self.centred and not self.standardized

    # -- table -> float array --------------------------------------------------

    def encode(self, estimator, X, return_values=False, training=False):
        """Validate X against the fitted columns and code it for the networks.

        With ``return_values``, also the table as floats before coding:
        numeric cells as they are, categories as their codes, NaN if missing.
        The columns never observed in fit (``empty``) are missing to the
        networks whatever X holds; ``training``: X is to train on, which
        warns if it observes them.
        """
        if hasattr(X, "shape") and len(X.shape) == 2 and X.shape[1] == self.n_columns:
            is_categorical = np.zeros(self.n_columns, dtype=bool)
            is_categorical[self.categorical] = True
            refuse_temporal(X, is_categorical)
        if not self.categorical:
            values = read_numbers(estimator, X, reset=False, standardized=self.standardized)
        elif sp.issparse(X):
            raise TypeError(
                "This model was fitted on a table with categorical columns; sparse X holds numbers only. "
                "Pass a dense table with the columns it had in fit."
            )
        else:
            values, _ = read_table(
                estimator,
                X,
                self.categorical,
                self.categories,
                # The kinds are checked where the dtypes chose them ("from_dtype").
                fitted_dtypes=self.dtypes if isinstance(self.categorical_features, str) else None,
                # What a detector's scores make of a category not seen in fit; training rows' are
                # missing cells only.
                unseen_note=None if training else estimator._unseen_category_note,
            )
        coded = self._code(estimator, values)
        if self.empty:
            coded = self._hide_empty(estimator, coded if coded is not values else values.copy(), training)
        return (coded, values) if return_values else coded

    def _hide_empty(self, estimator, coded, training):
        """``coded`` (written to) with the columns never observed in fit missing."""
        inputs = self.starts[self.empty]
        if training:  # only training rows are told that these cells go unlearnt
            warn_learnt_late(estimator, np.asarray(self.empty)[~np.isnan(coded[:, inputs]).all(axis=0)])
        coded[:, inputs] = np.nan
        return coded

    def _code(self, estimator, values):
        """Standardise the numeric columns and expand the categorical ones into one-hot blocks."""
        if self.is_identity:
            return values
        dtype = values.dtype if values.dtype in (np.float32, np.float64) else np.float64
        # Filled a column at a time: the only copy of X held is the coded one.
        coded = np.empty((values.shape[0], self.width), dtype=dtype)
        categorical = dict(zip(self.categorical, self.categories, strict=True))
        numeric_position = {j: i for i, j in enumerate(self.numeric)}
        for j, start in zip(range(self.n_columns), self.starts, strict=True):
            column = values[:, j]
            if j in categorical:
                block = coded[:, start : start + len(categorical[j])]
                block[:] = 0.0
                observed = ~np.isnan(column)
                block[np.flatnonzero(observed), column[observed].astype(np.intp)] = 1.0
                block[~observed] = np.nan
            else:
                i = numeric_position[j]
                offset = self.center[i] if self.centred else 0.0
                standardized = (column - offset) / self.scale[i]  # in float64, then X's dtype
                if self.standardized:
                    check_standardized_range(estimator, j, column, standardized)
                coded[:, start] = standardized
        return coded

    # -- float array -> table ----------------------------------------------------

    def decode(self, estimator, values, as_frame, index=None):
        """The networks' means (numeric values, category probabilities) as the user's columns.

        Returns a float array when every column is numeric; otherwise a
        pandas DataFrame (``as_frame``; with ``index``, the rows' index) or
        an object array holding each categorical column's most probable
        category. A column never observed in fit is NaN: the networks know
        nothing of it (``values`` is written to).
        """
        values[:, self.starts[self.empty]] = np.nan
        if self.is_identity:
            values[:, self.constant] = self.constant_values
            return values
        return self.to_table(estimator, self.uncode(values), as_frame, index=index)

    def uncode(self, coded):
        """From the networks' means to one float per column: numbers, or the most probable category's code."""
        starts = self.starts
        values = np.empty((coded.shape[0], self.n_columns), dtype=coded.dtype)
        for i, (j, position) in enumerate(zip(self.numeric, self.numeric_positions, strict=True)):
            # A column at a time (in float64, then the coded dtype): no float64 copy of the table.
            offset = self.center[i] if self.centred else 0.0
            values[:, j] = coded[:, position] * self.scale[i] + offset
        # A column constant in fit: its value, as PCA gives a constant column back.
        values[:, self.constant] = self.constant_values
        for j, categories in zip(self.categorical, self.categories, strict=True):
            values[:, j] = coded[:, starts[j] : starts[j] + len(categories)].argmax(axis=1)
        return values

    def unseen_categories(self, X, missing, columns=None):
        """The cells of X's categorical columns that hold a category not seen in fit, which the
        networks read as missing (``missing``: the mask of such cells, one column per column of
        X): ``{column: (rows, labels)}``. ``columns``: some of the categorical columns only."""
        unseen = {}
        if not hasattr(X, "shape"):  # a list of rows (read_table has checked that it is a table)
            X = np.asarray(X, dtype=object)
        for j in self.categorical if columns is None else columns:
            rows = np.flatnonzero(missing[:, j])
            if not len(rows):
                continue
            labels = np.asarray(column_values(X, j), dtype=object)[rows]
            present = ~pd.isna(labels)
            if present.any():
                unseen[j] = (rows[present], labels[present])
        return unseen

    def given_labels(self, X, missing):
        """The labels of X's observed cells in its categorical columns that are not of a category
        dtype: ``{column: (rows, labels)}``, as ``unseen_categories`` gives them.

        Such a column holds the user's values as they are, and a label may equal a category
        without being it: True and 1 are one category, as they are one to OneHotEncoder, and an
        imputer gives back what the user gave.
        """
        return self.unseen_categories(X, ~missing, columns=self._labelled_columns())

    def _labelled_columns(self):
        """The categorical columns whose cells are the user's labels rather than a dtype's categories."""
        if self.dtypes is None:
            return list(self.categorical)
        return [j for j in self.categorical if not is_category_dtype_name(self.dtypes[j])]

    def to_table(self, estimator, values, as_frame, columns=None, index=None, unseen=None):
        """Floats per column (category codes for categorical columns) as the user's table.

        A float array when every column is numeric; otherwise a pandas
        DataFrame of floats and categories (``as_frame``; with ``index``,
        the rows' index) or an object array of numbers and category labels.
        ``columns`` picks some of the fitted columns (all by default).
        ``unseen`` (``unseen_categories``' output) puts those labels back in
        their cells; a ``category`` column's categories then end with them,
        and an ordered one is no longer ordered (where a new label ranks is
        not known).
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
            categories = labels.tolist()
            ordered = self.dtypes is not None and self.dtypes[j] == ORDERED_CATEGORY
            if unseen and j in unseen:
                rows, new_labels = unseen[j]
                cells[rows] = new_labels
                known = set(categories)
                categories += [label for label in pd.unique(new_labels) if label not in known]
                ordered = False
            output_dtype = None
            if as_frame and self.dtypes is not None:
                fitted = self.dtypes[j]
                output_dtype = "category" if is_category_dtype_name(fitted) else label_dtype(fitted)
            if output_dtype == "category":
                data[name] = pd.Categorical(cells, categories=categories, ordered=ordered)
            elif output_dtype is not None:  # the input's string dtype
                data[name] = pd.array(cells, dtype=output_dtype)
            else:
                data[name] = cells
        if as_frame:
            return pd.DataFrame(data, index=index)
        return np.column_stack([np.asarray(column, dtype=object) for column in data.values()])

    # -- what the networks see -----------------------------------------------------

    def standardizes(self, standardize):
        """Whether ``standardize`` ("auto" or a bool) standardises this table's numeric columns."""
        return bool(self.categorical) if standardize == "auto" else bool(standardize)

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
