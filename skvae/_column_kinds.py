"""What kind each column of a table is, read from pandas, polars or NumPy input.

A column is categorical when its dtype says so (pandas or polars
``category``, string columns, and object columns of anything but numbers or
dates) or when the user names it in ``categorical_features``; every other
column is numeric. Dates, times and durations are neither: ``_table`` refuses
them unless they are named categorical. A column of numbers with a few stray text
cells is refused or warned about (``check_text_columns``).
"""

import sys
from numbers import Real

import numpy as np
import pandas as pd

from ._warnings import warn


def polars_frame(X):
    polars = sys.modules.get("polars")
    return polars is not None and isinstance(X, polars.DataFrame)


def pandas_frame(X):
    return isinstance(X, pd.DataFrame)


def frame_dtypes(X):
    """The dtype of each column of a pandas or polars DataFrame, else None."""
    if pandas_frame(X):
        return list(X.dtypes)
    if polars_frame(X):
        return list(X.schema.values())
    return None


def is_categorical_dtype(dtype):
    if isinstance(dtype, (pd.CategoricalDtype, pd.StringDtype)) or dtype is object or dtype == np.dtype("O"):
        return True
    if isinstance(dtype, pd.ArrowDtype):  # what read_parquet and dtype_backend="pyarrow" give
        return pd.api.types.is_string_dtype(dtype) or str(dtype).startswith("dictionary<")
    polars = sys.modules.get("polars")
    if polars is not None and isinstance(dtype, (polars.DataType, type)):
        try:
            return dtype in (polars.Categorical, polars.Enum, polars.String) or isinstance(
                dtype, (polars.Categorical, polars.Enum)
            )
        except TypeError:
            return False
    return False


# What pandas infers for an object column of numbers (and missing cells), which scikit-learn reads as floats.
_NUMBERS = {"integer", "floating", "mixed-integer-float", "decimal", "boolean", "empty"}


# ... and for an object column of dates, times or durations (``Series.dt.date`` gives one).
_TEMPORAL = {"datetime64", "datetime", "date", "timedelta64", "timedelta", "time", "period"}


def is_categorical_column(X, j, dtype):
    """Whether column j of a frame is categorical by its dtype; an object column by its values,
    so that numbers held as objects (``df.astype(object)``, ``pd.concat`` of mixed frames) stay
    numbers, and dates held as objects are refused as dates (``refuse_temporal``)."""
    if _is_object(dtype):
        values = column_values(X, j)
        kind = pd.api.types.infer_dtype(values, skipna=True)
        if kind == "mixed":  # numbers pandas has no name for (fractions.Fraction), or mixed labels
            return not all(_is_number(value) for value in values if not _is_missing(value))
        return kind not in _NUMBERS | _TEMPORAL
    return is_categorical_dtype(dtype)


def _is_number(value):
    return isinstance(value, Real) and not isinstance(value, (bool, np.bool_))


def _is_missing(value):
    return value is None or value is pd.NA or (isinstance(value, (float, np.floating)) and np.isnan(value))


def _is_object(dtype):
    return dtype is object or dtype == np.dtype("O")


# A column of numbers with a few text cells -- at most this share of its observed cells -- is
# taken for numbers with stray markers of missing cells when it also has more than this many
# distinct numbers; with fewer, its labels are few enough to be categories (``[1, 2, 3, "4+"]``).
_STRAY_TEXT = 0.1
_MANY_NUMBERS = 10
# A text column with more distinct labels than this, and than this share of its observed cells,
# is taken for identifiers (names, IDs, free text): as categories, each label is a network input
# of its own that a row or two ever sets.
_MANY_LABELS = 50
_MOSTLY_UNIQUE = 0.5


def check_text_columns(X, is_categorical):
    """Refuse or warn about columns of numbers with a few text cells ("?", "n/a" read from a file):
    taken as categorical, each of their many numbers would be a category of its own, and every new
    number an unknown one."""
    dtypes = frame_dtypes(X)
    if dtypes is None:  # arrays: no column is categorical by its dtype
        return
    names = [str(name) for name in X.columns]
    for j in np.flatnonzero(is_categorical):
        if isinstance(dtypes[j], pd.CategoricalDtype) or (polars_frame(X) and dtypes[j] != _polars_string()):
            continue  # categories by the user's choice
        # Each distinct value once, with its count: a column of a million cells has few of them.
        counts = pd.Series(np.asarray(column_values(X, j), dtype=object)).value_counts(dropna=True)
        labels = counts.index.to_series(index=counts.index)
        is_text = labels.map(lambda value: isinstance(value, str)).to_numpy(dtype=bool)
        if not (is_text | labels.map(_is_number).to_numpy(dtype=bool)).all():
            continue  # labels of other kinds: no column of numbers
        # Text that reads as a number ("3") counts as one.
        text = is_text & pd.to_numeric(labels, errors="coerce").isna().to_numpy()
        n_text = int(counts[text].sum())
        keep_as_categories = (
            "to read every value as a category, give the column a categorical dtype or name it in "
            "categorical_features."
        )
        if n_text == 0 and is_text.all() and len(labels) > _MANY_NUMBERS:  # read_csv(dtype=str)
            warn(
                f"Column {names[j]!r} of X holds text, read as categorical, but every cell reads as a "
                f"number: each of its {len(labels)} numbers is a category of its own. To read them as "
                f"numbers, convert the column first (pandas: pd.to_numeric; polars: .cast(pl.Float64)); "
                f"{keep_as_categories}"
            )
            continue
        if not (0 < n_text <= _STRAY_TEXT * counts.sum() and (~text).sum() > _MANY_NUMBERS):
            if n_text and len(labels) > max(_MANY_LABELS, _MOSTLY_UNIQUE * counts.sum()):
                warn(
                    f"Column {names[j]!r} of X holds text, read as categorical, with {len(labels)} "
                    f"distinct values among {int(counts.sum())} observed cells: each is a category, "
                    "and a network input, of its own that few rows set, so little is learnt from it "
                    "(identifiers, names or free text?). Drop the column before fitting (DataFrame.drop, "
                    "or 'drop' in a ColumnTransformer)."
                )
            continue
        shown = ", ".join(f"'{value}'" for value in sorted(labels[text], key=str)[:3])
        advice = (
            "If those mark missing cells, make them missing first (pandas: pd.to_numeric(..., "
            f"errors='coerce'); polars: .cast(pl.Float64, strict=False)); {keep_as_categories}"
        )
        if not is_text.all():  # numbers themselves, beside a few strings
            raise TypeError(
                f"Column {names[j]!r} of X mixes numbers and strings ({shown}): as categories, every "
                f"number would be a category of its own. {advice}"
            )
        warn(
            f"Column {names[j]!r} of X holds text, read as categorical, but all of its cells except "
            f"{n_text} ({shown}) read as numbers: each number is a category of its own. {advice}"
        )


def _is_number(value):
    return isinstance(value, Real) and not isinstance(value, (bool, np.bool_))


def _polars_string():
    return sys.modules["polars"].String


def is_temporal_dtype(dtype):
    """Dates, times, durations and periods: neither numbers nor categories unless named so."""
    if isinstance(dtype, pd.PeriodDtype) or getattr(dtype, "kind", None) in ("m", "M"):
        return True
    if isinstance(dtype, pd.ArrowDtype):  # pyarrow's times of day have kind "O"
        import pyarrow.types  # an ArrowDtype exists only where pyarrow is installed

        return pyarrow.types.is_temporal(dtype.pyarrow_dtype)
    polars = sys.modules.get("polars")
    if polars is not None and isinstance(dtype, (polars.DataType, type)):
        try:
            return dtype.is_temporal()
        except TypeError:
            return False
    return False


def _is_temporal_column(X, j, dtype):
    if _is_object(dtype):  # dates as Python objects: a column's values say
        return pd.api.types.infer_dtype(column_values(X, j), skipna=True) in _TEMPORAL
    return is_temporal_dtype(dtype)


def refuse_temporal(X, is_categorical):
    """A ValueError for numeric columns of dates, times or durations (NaT is no number)."""
    dtypes = frame_dtypes(X)
    if dtypes is None:
        dtypes = [getattr(X, "dtype", None)] * X.shape[1] if hasattr(X, "shape") and len(X.shape) == 2 else []
    temporal = [
        j for j, dtype in enumerate(dtypes) if not is_categorical[j] and _is_temporal_column(X, j, dtype)
    ]
    if temporal:
        names = [str(name) for name in getattr(X, "columns", range(len(dtypes)))]
        first = dtypes[temporal[0]]
        kind = dtype_name(first)
        if _is_object(first):
            held = pd.api.types.infer_dtype(column_values(X, temporal[0]), skipna=True)
            kind = f"{kind} holding {held} values"
        raise ValueError(
            f"Column(s) {[names[j] for j in temporal]} of X hold dates, times or durations "
            f"({kind}): skvae reads numbers and categories. Convert them to "
            "numbers first (e.g. days since a reference date, the hour of the day), or name them in "
            "categorical_features to read each value as a category."
        )


def all_missing(column):
    """Whether no cell of a column (NumPy, pandas or polars values) is observed."""
    return bool(pd.isna(column).all())


# The name of an ordered pandas category dtype, so that output columns are ordered again.
ORDERED_CATEGORY = "category (ordered)"


def dtype_name(dtype):
    if isinstance(dtype, pd.CategoricalDtype):
        return ORDERED_CATEGORY if dtype.ordered else "category"
    return str(dtype)


def label_dtype(name):
    """The pandas dtype that a categorical column's labels go back into, from its fitted dtype's
    name (``dtype_name``): pandas' and pyarrow's strings as they were, a pyarrow dictionary as
    ``"category"``; None for the rest (object columns, and numbers named in categorical_features)."""
    if name.startswith("dictionary<"):
        return "category"
    try:
        dtype = pd.api.types.pandas_dtype(name)
    except (TypeError, ValueError):  # a polars dtype's name, say
        return None
    if isinstance(dtype, pd.StringDtype):
        return dtype
    if isinstance(dtype, pd.ArrowDtype) and pd.api.types.is_string_dtype(dtype):
        return dtype
    return None


def is_category_dtype_name(name):
    """Whether a fitted column's dtype (its ``dtype_name``) held categories: pandas' ``category``,
    polars' ``Categorical`` or ``Enum``; their output columns are categorical again."""
    return name in ("category", ORDERED_CATEGORY) or name.startswith(("Categorical", "Enum("))


def find_categorical(X, categorical_features, n_features):
    """Boolean mask of the categorical columns of X, from the ``categorical_features`` parameter."""
    if categorical_features is None:
        return np.zeros(n_features, dtype=bool)
    if isinstance(categorical_features, str):  # "from_dtype"
        dtypes = frame_dtypes(X)
        if dtypes is None:
            return np.zeros(n_features, dtype=bool)
        return np.array([is_categorical_column(X, j, dtype) for j, dtype in enumerate(dtypes)], dtype=bool)
    selection = np.asarray(categorical_features)
    if selection.size == 0:  # [] reads as floats: no column named
        return np.zeros(n_features, dtype=bool)
    if selection.dtype == bool:
        if selection.shape != (n_features,):
            raise ValueError(
                f"categorical_features as a boolean mask has {selection.size} entries; X has {n_features} "
                "features."
            )
        return selection
    mask = np.zeros(n_features, dtype=bool)
    if selection.dtype.kind in "OUS":
        columns = [str(name) for name in getattr(X, "columns", [])]
        unknown = [plain(name) for name in selection if str(name) not in columns]
        if unknown:
            raise ValueError(
                f"categorical_features names columns {unknown} that X does not have; names need a "
                "DataFrame with those columns."
            )
        mask[[columns.index(str(name)) for name in selection]] = True
        return mask
    if selection.dtype.kind not in "iu" or ((selection < -n_features) | (selection >= n_features)).any():
        raise ValueError(
            f"categorical_features must be names, indices in [-{n_features}, {n_features}) or a boolean "
            f"mask; got {categorical_features!r}."
        )
    mask[selection] = True
    return mask


def column_values(X, j):
    """Column j of a DataFrame or array, as a 1-D numpy or pandas object."""
    if pandas_frame(X):
        return X.iloc[:, j]
    if polars_frame(X):
        return X.to_series(j).to_numpy()
    return X[:, j]


def plain(value):
    """numpy scalars and arrays (and pandas' Index and Series) as plain Python values (for JSON)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (np.ndarray, pd.Index, pd.Series)):
        return [plain(item) for item in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


# Values that hold values: never a category, even where hashable (a tuple).
_NESTED = (tuple, list, dict, set, frozenset, np.ndarray)


def hashable(value):
    """Whether ``value`` can be hashed, as a category must be (a tuple holding a list cannot)."""
    try:
        hash(value)
    except TypeError:
        return False
    return True


def categories_of(column, dtype=None):
    """The categories of a column: its dtype's, in their order (pandas ``category``, polars ``Enum``),
    else its sorted observed values. ``dtype``: the frame's dtype of the column, where ``column``
    holds its values only (a polars column as NumPy)."""
    dtype = getattr(column, "dtype", None) if dtype is None else dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return [plain(label) for label in dtype.categories]
    polars = sys.modules.get("polars")
    if polars is not None and isinstance(dtype, polars.Enum):
        return [plain(label) for label in dtype.categories]
    series = pd.Series(np.asarray(column, dtype=object))
    observed = series[~series.isna()]
    try:
        labels = observed.unique().tolist()
    except TypeError:  # values pandas cannot count: lists, dicts, arrays, tuples holding them
        labels = [next(label for label in observed if not hashable(label))]
    nested = next((label for label in labels if isinstance(label, _NESTED) or not hashable(label)), None)
    if nested is not None:
        raise TypeError(
            f"A categorical column of X holds {type(nested).__name__}s ({nested!r}); a category "
            "is a number, a string or a boolean. Convert them to strings first (e.g. .astype(str))."
        )
    try:
        labels = sorted(labels)
    except TypeError:  # labels of several types: order them by their text
        labels = sorted(labels, key=str)
    return [plain(label) for label in labels]
