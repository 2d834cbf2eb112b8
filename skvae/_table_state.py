"""A fitted :class:`~skvae._table.TableEncoder` as plain data, and back.

Pickles and skops files (``_state``) and skvae's own files (``_persistence``)
hold a table's columns as a dict of lists, strings and numbers. Reading one
back checks every field, since a file may have been edited by hand: a
field of the wrong type or a description that does not add up raises a
ValueError, never a table that codes X wrongly.
"""

import numpy as np
import pandas as pd

from ._column_kinds import hashable, plain
from ._table import TableEncoder


def table_to_dict(table):
    """The fitted ``table`` as plain data."""
    return {
        "categorical_features": plain(table.categorical_features),
        "standardize": table.standardize if table.standardize == "auto" else bool(table.standardize),
        "allow_empty": bool(table.allow_empty),
        "empty": list(table.empty),
        "constant": list(table.constant),
        "n_columns": int(table.n_columns),
        "categorical": list(table.categorical),
        "categories": [[plain(label) for label in labels] for labels in getattr(table, "categories", [])],
        "dtypes": table.dtypes,
        "standardized": table.standardized,
        "centred": table.centred,
        "center": [float(value) for value in table.center],
        "scale": [float(value) for value in table.scale],
    }


def table_from_dict(state):
    """Rebuild a fitted table from :func:`table_to_dict`'s output, checking every field."""
    # Each field of its own type, not converted: bool("false") is True, int(1.7) is 1.
    try:
        table = TableEncoder(
            state["categorical_features"], state["standardize"], _checked_bool(state["allow_empty"])
        )
        table.empty = _checked_ints(state["empty"])
        # Files written before "constant" pin no column.
        table.constant = _checked_ints(state.get("constant", []))
        table.n_columns = _checked_ints([state["n_columns"]])[0]
        table.categorical = _checked_ints(state["categorical"])
        table.categories = [list(labels) for labels in state["categories"]]
        dtypes = state["dtypes"]
        if not (dtypes is None or all(isinstance(name, str) for name in dtypes)):
            raise TypeError("dtypes must be names")
        table.dtypes = None if dtypes is None else list(dtypes)
        table.standardized = _checked_bool(state["standardized"])
        # Files written before "centred" centred every table they coded.
        table.centred = _checked_bool(state.get("centred", table.standardized or bool(table.categorical)))
        table.center = _checked_floats(state["center"])
        table.scale = _checked_floats(state["scale"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"invalid column description ({exc!r})") from None
    if not _consistent(table):
        raise ValueError("invalid column description")
    return table


def _consistent(table):
    """Whether the fields of a table read back describe one table."""
    n_numeric = table.n_columns - len(table.categorical)
    return (
        table.n_columns > 0
        and sorted(set(table.categorical)) == table.categorical
        and all(0 <= j < table.n_columns for j in table.categorical)
        and len(table.categories) == len(table.categorical)
        # Files hold str, int, float and bool labels; a pickle any label pandas can index by.
        and all(labels and all(_is_label(label) for label in labels) for labels in table.categories)
        # Labels that are equal (True and 1) could not be told apart.
        and all(pd.Index(labels, dtype=object).is_unique for labels in table.categories)
        and table.center.shape == table.scale.shape == (n_numeric,)
        and np.isfinite(table.center).all()
        and np.isfinite(table.scale).all()
        and (table.scale > 0).all()
        and (table.dtypes is None or len(table.dtypes) == table.n_columns)
        and all(0 <= j < table.n_columns and j not in table.categorical for j in table.empty)
        and sorted(set(table.constant)) == table.constant
        and all(
            0 <= j < table.n_columns and j not in table.categorical and j not in table.empty
            for j in table.constant
        )
        # Only an imputer's table keeps columns never observed in fit.
        and (table.allow_empty or not table.empty)
        and (table.standardize == "auto" or isinstance(table.standardize, bool))
        and (
            table.categorical_features in (None, "from_dtype") or isinstance(table.categorical_features, list)
        )
    )


# A pickle's state may hold NumPy scalars where a JSON file holds Python ones.


def _checked_bool(value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"expected a bool, got {value!r}")
    return bool(value)


def _checked_ints(values):
    if not all(
        isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)) for value in values
    ):
        raise TypeError(f"expected integers, got {values!r}")
    return [int(value) for value in values]


def _checked_floats(values):
    if not all(
        isinstance(value, (int, float, np.number)) and not isinstance(value, (bool, np.bool_))
        for value in values
    ):
        raise TypeError(f"expected numbers, got {values!r}")
    return np.asarray(values, dtype=np.float64)


def _is_label(value):
    return hashable(value) and value is not None and not (isinstance(value, float) and np.isnan(value))
