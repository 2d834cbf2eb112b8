"""A fitted table as plain data: written for pickles and files, every field checked when read back."""

import numpy as np
import pandas as pd
import pytest

from skvae import AutoencoderTransformer
from skvae._table import TableEncoder
from skvae._table_state import table_from_dict, table_to_dict


def mixed_frame(n_rows=100, seed=0):
    rng = np.random.RandomState(seed)
    z = rng.normal(size=n_rows)
    return pd.DataFrame(
        {
            "income": np.exp(10 + 0.5 * z),
            "score": z + 0.1 * rng.normal(size=n_rows),
            "band": pd.Categorical(np.where(z > 0, "high", "low")),
        }
    )


def fitted_table(**params):
    frame = mixed_frame()
    model = AutoencoderTransformer()
    table = TableEncoder(**params)
    table.fit_encode(model, frame)
    return table, model, frame


def test_a_table_read_back_codes_and_decodes_as_the_fitted_one():
    table, model, frame = fitted_table()
    copy = table_from_dict(table_to_dict(table))
    np.testing.assert_array_equal(copy.encode(model, frame), table.encode(model, frame))
    decoded = copy.decode(model, table.encode(model, frame), as_frame=True)
    pd.testing.assert_frame_equal(decoded, table.decode(model, table.encode(model, frame), as_frame=True))


def test_the_plain_data_holds_no_numpy_object():
    def plain(value):
        if isinstance(value, dict):
            return all(isinstance(key, str) and plain(item) for key, item in value.items())
        if isinstance(value, list):
            return all(plain(item) for item in value)
        return value is None or type(value) in (str, int, float, bool)

    assert plain(table_to_dict(fitted_table()[0]))


def test_a_pickles_numpy_scalars_are_read_as_numbers():
    table = fitted_table()[0]
    state = table_to_dict(table)
    state.update(
        n_columns=np.int64(3), standardized=np.bool_(True), center=[np.float32(c) for c in state["center"]]
    )
    assert table_from_dict(state).n_columns == 3


def test_a_table_saved_before_centred_was_recorded_codes_as_it_did():
    table, model, frame = fitted_table(standardize=False)
    values = table.encode(model, frame, return_values=True)[1]
    state = table_to_dict(table)
    del state["centred"]  # files of earlier versions centred every table with categories
    coded = table_from_dict(state)._code(model, values)
    np.testing.assert_allclose(coded[:, 1], frame["score"] - frame["score"].mean())
    np.testing.assert_allclose(table._code(model, values)[:, 1], frame["score"])


def test_a_table_saved_before_constant_columns_were_recorded_pins_none():
    frame = mixed_frame().assign(score=1.5)
    model = AutoencoderTransformer()
    table = TableEncoder()
    table.fit_encode(model, frame)
    state = table_to_dict(table)
    assert state["constant"] == [1]
    del state["constant"]
    assert table_from_dict(state).constant == []


@pytest.mark.parametrize(
    "change",
    [
        {"standardized": "false"},  # bool("false") is True
        {"n_columns": 2.7},  # int(2.7) is 2
        {"n_columns": 4},  # more columns than the description has
        {"categorical": [5]},  # beyond the columns
        {"categories": [[True, 1]]},  # equal labels could not be told apart
        {"categories": [[None]]},
        {"scale": [0.0, 1.0]},
        {"center": [float("nan"), 0.0]},
        {"dtypes": [1, 2, 3]},
        {"empty": [0]},  # only an imputer's table keeps a column never observed
        {"constant": [2]},  # a categorical column
        {"constant": [1, 0]},
        {"standardize": "yes"},
        {"categorical_features": "all"},
    ],
)
def test_a_field_of_the_wrong_type_or_value_is_refused(change):
    state = {**table_to_dict(fitted_table()[0]), **change}
    with pytest.raises(ValueError, match="invalid column description"):
        table_from_dict(state)


def test_a_numpy_bool_standardize_reads_back():
    # What a parameter grid of numpy values gives.
    state = table_to_dict(fitted_table(standardize=np.True_)[0])
    assert state["standardize"] is True and table_from_dict(state).standardize is True


def test_a_missing_field_is_refused():
    state = table_to_dict(fitted_table()[0])
    del state["scale"]
    with pytest.raises(ValueError, match="invalid column description"):
        table_from_dict(state)
