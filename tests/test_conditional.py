"""A row's missing cells predicted from its observed ones: the conditional mean and one draw."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from skvae import AutoencoderTransformer
from skvae._conditional import (
    adaptive_importance_samples,
    conditional_draw,
    conditional_means,
    quasi_random_normal,
    split_rounds,
)
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


def test_draws_pick_samples_and_categories_as_often_as_their_weights_and_probabilities_say():
    frame = pd.DataFrame({"x": [0.0, 1.0], "c": pd.Categorical(["a", "b"])})
    layout = layout_of(frame)  # inputs: x, then the one-hot block a, b
    likelihood = make_likelihood("gaussian", 1)
    likelihood.variance.fill_(1e-10)
    n = 20000
    means = torch.tensor([[[1.0, 0.3, 0.7]], [[2.0, 0.3, 0.7]]]).expand(2, n, 3)  # (K=2, n, width)
    log_weights = torch.log(torch.tensor([[0.25], [0.75]])).expand(2, n)
    draw = conditional_draw(log_weights, means, layout, likelihood, torch.Generator().manual_seed(0))
    assert (draw[:, 0] > 1.5).float().mean() == pytest.approx(0.75, abs=0.02)  # the second sample
    assert draw[:, 2].mean() == pytest.approx(0.7, abs=0.02)  # category "b"


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


def test_adaptive_rounds_find_a_posterior_that_the_first_proposal_misses():
    # z ~ N(0, I_8), x | z ~ N(z, 0.2^2 I), x = 2 in every dimension: the posterior is
    # N(2 / 1.04, 0.2^2 / 1.04) in each. The proposal sits beside it and too narrow, as an
    # amortised encoder's may for an unusual row.
    x, variance, n_dims = 2.0, 0.04, 8
    posterior_mean = x / (1 + variance)

    def log_joint(z):
        log_px = -0.5 * ((x - z) ** 2 / variance + math.log(2 * math.pi * variance)).sum(dim=-1)
        log_pz = -0.5 * (z.square() + math.log(2 * math.pi)).sum(dim=-1)
        return log_px + log_pz, z  # the "decoder's output" is the code itself: E[z | x]

    mean, std = torch.full((1, n_dims), 1.9), torch.full((1, n_dims), 0.1)
    draws = quasi_random_normal(300, n_dims, seed=0, device="cpu")
    one_round = conditional_means(*adaptive_importance_samples(mean, std.log(), [draws], log_joint))
    rounds = split_rounds(300)
    assert rounds == [150, 150] and split_rounds(1) == [1] and split_rounds(3) == [2, 1]
    noises = [quasi_random_normal(n, n_dims, seed=r, device="cpu") for r, n in enumerate(rounds)]
    log_weights, outputs = adaptive_importance_samples(mean, std.log(), noises, log_joint)
    assert log_weights.shape == (300, 1) and outputs.shape == (300, 1, n_dims)
    # The first round's draws are the proposal's own.
    torch.testing.assert_close(outputs[:150, 0], mean + std * noises[0])
    two_rounds = conditional_means(log_weights, outputs)
    error_one, error_two = (one_round - posterior_mean).abs().max(), (two_rounds - posterior_mean).abs().max()
    assert error_one > 0.06  # 300 draws of the proposal alone: 0.08 off
    assert error_two < 0.3 * error_one  # 150 + 150: 0.02 off


def sharp_posterior(center, spread):
    """log p(x_obs, z) of a posterior N(center, spread^2) in one dimension, and z as the output."""

    def log_joint(z):
        return (-0.5 * ((z - center) / spread).square()).sum(dim=-1), z

    return log_joint


def test_a_later_rounds_proposal_is_centred_on_the_last_rounds_weighted_draws():
    noises = [quasi_random_normal(100, 1, seed=r, device="cpu") for r in range(2)]
    mean, log_std = torch.zeros(1, 1), torch.zeros(1, 1)
    log_weights, z = adaptive_importance_samples(mean, log_std, noises, sharp_posterior(3.0, 0.3))
    first = conditional_means(log_weights[:100], z[:100])
    assert abs(z[100:].mean().item() - first.item()) < 0.3  # not the first round's plain mean, 0.8 off


def test_a_later_rounds_proposal_keeps_a_spread_where_one_draw_took_all_the_weight():
    noises = [quasi_random_normal(100, 1, seed=r, device="cpu") for r in range(2)]
    mean, log_std = torch.zeros(1, 1), torch.zeros(1, 1)
    log_weights, z = adaptive_importance_samples(mean, log_std, noises, sharp_posterior(3.0, 1e-3))
    assert torch.isfinite(log_weights).all()
    assert z[100:].std().item() > 0.01  # a floor of a twentieth of the encoder's spread, widened
