"""The column layout: from the networks' inputs (numbers, then one-hot blocks where the table has
them) to one term or mask per input column, in the input's order whatever the columns' kinds."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from skvae import AutoencoderTransformer
from skvae._table import TableEncoder


def layout_of(frame):
    table = TableEncoder()
    coded = table.fit_encode(AutoencoderTransformer(), frame)
    return table, table.layout("cpu"), torch.as_tensor(coded, dtype=torch.float32)


def categories_first():
    """A category first, then a number, another category (two levels), another number."""
    return pd.DataFrame(
        {
            "kind": pd.Categorical(["x", "y", "z", "x"]),
            "a": [1.0, 2.0, 3.0, 4.0],
            "flag": pd.Categorical(["on", "off", "on", "on"]),
            "b": [0.5, 0.1, 0.2, 0.3],
        }
    )


def test_the_inputs_hold_each_column_where_the_table_puts_it():
    table, _, coded = layout_of(categories_first())
    assert table.widths == [3, 1, 2, 1] and list(table.starts) == [0, 3, 4, 6]
    np.testing.assert_array_equal(coded[:, :3].sum(dim=1), 1.0)  # kind's block


def test_a_missing_number_is_masked_in_its_own_column_not_in_the_first_category():
    frame = categories_first()
    frame.loc[0, "a"] = np.nan
    frame.loc[1, "kind"] = np.nan
    table, estimator = TableEncoder(), AutoencoderTransformer()
    table.fit_encode(estimator, categories_first())
    coded = torch.as_tensor(table.encode(estimator, frame), dtype=torch.float32)
    _, observed = table.layout("cpu").prepare(coded)
    expected = [[True, False, True, True], [False, True, True, True], [True] * 4, [True] * 4]
    np.testing.assert_array_equal(observed.numpy(), expected)


def test_column_terms_come_back_in_the_inputs_column_order_and_count_0_where_missing():
    _, layout, _ = layout_of(categories_first())
    numeric = torch.tensor([[10.0, 20.0]])  # a, b
    categorical = torch.tensor([[1.0, 2.0]])  # kind, flag
    terms = layout.column_terms(numeric, None, lambda: categorical)
    np.testing.assert_array_equal(terms.numpy(), [[1.0, 10.0, 2.0, 20.0]])
    observed = torch.tensor([[True, False, False, True]])
    terms = layout.column_terms(numeric, observed, lambda: categorical)
    np.testing.assert_array_equal(terms.numpy(), [[1.0, 0.0, 0.0, 20.0]])


def test_a_missing_number_enters_at_its_columns_training_mean_uncentred_or_at_0_centred():
    X = np.array([[1.0, 10.0], [3.0, 30.0], [np.nan, np.nan]])
    for standardize, fill in [(False, [2.0, 20.0]), (True, [0.0, 0.0])]:
        table, estimator = TableEncoder(standardize=standardize), AutoencoderTransformer()
        coded = torch.as_tensor(table.fit_encode(estimator, X), dtype=torch.float32)
        filled, observed = table.layout("cpu").prepare(coded)
        np.testing.assert_allclose(filled[2].numpy(), fill)
        np.testing.assert_array_equal(observed.numpy(), [[True, True], [True, True], [False, False]])


def test_a_missing_category_adds_nothing_to_its_columns_log_probability():
    table, layout, coded = layout_of(categories_first())
    row = coded[:1].clone()
    row[0, :3] = float("nan")  # kind missing
    logits = torch.zeros_like(row)
    terms = layout.categorical_log_probs(row, logits)
    assert terms[0, 0].item() == 0.0  # kind: nothing observed
    assert terms[0, 1].item() == pytest.approx(-math.log(2))  # flag: one of two even levels


def test_each_blocks_log_probability_and_probabilities_are_its_own_softmax_whatever_the_logits_scale():
    _, layout, coded = layout_of(categories_first())
    generator = torch.Generator().manual_seed(0)
    # Logits a thousand apart between blocks and rows, and numbers as large beside them: each block
    # is normalised on its own, finitely, its gradient too.
    decoded = (1000 * torch.randn((2, 4, 7), generator=generator)).requires_grad_()
    terms = layout.categorical_log_probs(coded, decoded)
    probabilities = layout.categorical_probabilities(decoded)
    for column, (start, size) in enumerate([(0, 3), (4, 2)]):
        block = decoded[..., start : start + size]
        expected = (torch.log_softmax(block, dim=-1) * coded[:, start : start + size]).sum(dim=-1)
        torch.testing.assert_close(terms[..., column], expected)
        torch.testing.assert_close(probabilities[..., start : start + size], torch.softmax(block, dim=-1))
    torch.testing.assert_close(probabilities[..., [3, 6]], decoded[..., [3, 6]])  # numbers as they are
    in_float64 = layout.categorical_log_probs(
        coded, decoded.detach().double()
    )  # float32 rows, float64 logits
    torch.testing.assert_close(in_float64, terms.detach().double())
    (terms.sum() + probabilities.sum()).backward()
    assert torch.isfinite(decoded.grad).all()


def test_log_probabilities_and_probabilities_from_one_pass_are_those_of_two():
    _, layout, coded = layout_of(categories_first())
    coded[1, :3] = float("nan")  # a missing category
    decoded = (5 * torch.randn((3, 4, 7), generator=torch.Generator().manual_seed(0))).requires_grad_()
    terms, probabilities = layout.categorical_log_probs_and_probabilities(coded, decoded)
    (gradient,) = torch.autograd.grad(terms.sum() + probabilities.sum(), decoded)
    apart = layout.categorical_log_probs(coded, decoded), layout.categorical_probabilities(decoded)
    torch.testing.assert_close(terms, apart[0], rtol=0, atol=0)
    torch.testing.assert_close(probabilities, apart[1], rtol=0, atol=0)
    torch.testing.assert_close(gradient, torch.autograd.grad(apart[0].sum() + apart[1].sum(), decoded)[0])
