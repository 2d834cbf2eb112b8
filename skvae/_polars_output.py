"""A table's output as polars: the pandas frame ``_table.to_table`` builds, column by column.

scikit-learn's polars output converts a pandas frame through pyarrow, which
refuses a column of labels mixing numbers and text (``[1, 2, "4+"]``, a
categorical column as OneHotEncoder reads it) and turns every category
column into a ``Categorical``. Here each column keeps what the user gave,
typed by its fitted categories, not by the cells a call happens to hold:

- a column of string categories fitted from a polars ``Enum`` or an ordered
  pandas ``category`` is an ``Enum`` of them (polars' ordered categories)
  unless a call brings a label fit never saw, whose rank is not known; from
  another category dtype, a ``Categorical``;
- other labels are of the type polars gives the categories (strings,
  integers), or an ``Object`` column where it gives them none, as
  SimpleImputer's polars output holds such labels.
"""

import pandas as pd

from ._column_kinds import ORDERED_CATEGORY


def as_polars(frame, table, columns):
    """``frame``, a pandas DataFrame whose first columns are the fitted ``table``'s ``columns``
    (indices; any further ones are numbers), as a polars DataFrame."""
    import polars  # not a dependency: set_output has checked that it is installed

    categories = dict(zip(table.categorical, table.categories, strict=True))
    series = []
    for position, name in enumerate(frame.columns):
        values = frame.iloc[:, position]
        j = columns[position] if position < len(columns) else None
        if j not in categories:
            series.append(polars.Series(str(name), values.to_numpy()))
            continue
        labels = values.astype(object).where(values.notna(), None).tolist()
        if isinstance(values.dtype, pd.CategoricalDtype):  # fit's categories, and any new labels
            series.append(
                _categories(
                    polars,
                    str(name),
                    labels,
                    list(values.cat.categories),
                    list(categories[j]),
                    table.dtypes[j],
                )
            )
        else:
            series.append(_labels(polars, str(name), labels, list(categories[j])))
    return polars.DataFrame(series)


def _categories(polars, name, labels, categories, fitted, dtype_name):
    # An Enum ranks its categories: where a new label ranks is not known (pandas output is
    # unordered then too), so a column that gained one is a Categorical.
    if not all(isinstance(category, str) for category in categories):
        return _labels(polars, name, labels, categories)  # polars' categories are strings
    if (dtype_name.startswith("Enum(") or dtype_name == ORDERED_CATEGORY) and categories == fitted:
        return polars.Series(name, labels, dtype=polars.Enum(categories))
    return polars.Series(name, labels, dtype=polars.Categorical)


def _labels(polars, name, labels, categories):
    try:
        dtype = polars.Series(categories, strict=True).dtype
        return polars.Series(name, labels, dtype=dtype, strict=True)
    except (TypeError, ValueError, polars.exceptions.PolarsError):
        return polars.Series(name, labels, dtype=polars.Object)
