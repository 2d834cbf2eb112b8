"""A row's missing cells predicted from its observed ones: the conditional mean and one draw."""

import math

import numpy as np
import pandas as pd
import torch

from skvae import AutoencoderTransformer
from skvae._conditional import conditional_draw, conditional_means, quasi_random_normal
from skvae._likelihoods import make_likelihood
from skvae._table import TableEncoder


def layout_of(frame):
    table = TableEncoder()
    table.fit_encode(AutoencoderTransformer(), frame)
    return table.layout(torch.device("cpu"))


def one_sample_weighted(n_samples, n_rows, chosen):
    """Log weights that put (almost) all the posterior's mass on sample ``chosen``."""
    log_weights = torch.full((n_samples, n_rows), -1e4)
    log_weights[chosen] = 0.0
    return log_weights


def test_quasi_random_draws_are_fixed_and_evenly_spread():
    draws = quasi_random_normal(512, 3, seed=0, device="cpu")
    np.testing.assert_array_equal(draws, quasi_random_normal(512, 3, seed=0, device="cpu"))
    assert draws.shape == (512, 3) and draws.dtype == torch.float32
    # Random normal draws' means would stray by about 0.04; their spread is the normal's.
    assert float(draws.mean(dim=0).abs().max()) < 0.005
    np.testing.assert_allclose(draws.std(dim=0), 1.0, atol=0.05)


def test_the_conditional_mean_weighs_each_samples_means_by_its_importance():
    means = torch.tensor([[[0.0, 10.0]], [[2.0, 20.0]]])  # (K=2, n=1, width=2)
    equal = torch.zeros(2, 1)
    np.testing.assert_allclose(conditional_means(equal, means), [[1.0, 15.0]])
    three_to_one = torch.tensor([[math.log(3.0)], [0.0]])
    np.testing.assert_allclose(conditional_means(three_to_one, means), [[0.5, 12.5]], rtol=1e-6)


def test_a_draw_takes_the_sample_that_carries_the_weight_and_a_category_from_its_probabilities():
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0], "c": pd.Categorical(["a", "b", "c"])})
    layout = layout_of(frame)  # inputs: x, then the one-hot block a, b, c
    likelihood = make_likelihood("gaussian", 1)
    likelihood.variance.fill_(1e-10)
    means = torch.tensor(
        [
            [[5.0, 1.0, 0.0, 0.0]] * 4,
            [[-5.0, 0.0, 0.0, 1.0]] * 4,  # category "c" for certain
        ]
    )
    draw = conditional_draw(one_sample_weighted(2, 4, chosen=1), means, layout, likelihood, torch.Generator())
    np.testing.assert_allclose(draw, [[-5.0, 0.0, 0.0, 1.0]] * 4, atol=1e-4)


def test_numeric_draws_follow_the_likelihood_the_networks_train_with():
    generator = torch.Generator().manual_seed(0)
    gaussian = make_likelihood("gaussian", 2)
    gaussian.variance.copy_(torch.tensor([1.0, 4.0]))
    draws = gaussian.training_sample(torch.zeros(20000, 2), generator)
    np.testing.assert_allclose(draws.std(dim=0), [1.0, 2.0], rtol=0.03)
    bernoulli = make_likelihood("bernoulli", 2)
    draws = bernoulli.training_sample(torch.full((20000, 2), 0.3), generator)
    assert set(np.unique(draws.numpy())) == {0.0, 1.0}
    np.testing.assert_allclose(draws.mean(dim=0), 0.3, atol=0.02)
