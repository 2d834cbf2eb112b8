"""The likelihoods: the Gaussian at a batch's optimal variance (what the networks train with), and the
Student-t that scores with heavy tails."""

import math

import pytest
import torch
from torch.distributions import StudentT

from skvae._likelihoods import BernoulliLikelihood, GaussianLikelihood, StudentTLikelihood


@pytest.mark.parametrize("variance", ["feature", "shared"])
def test_training_likelihood_is_the_gaussian_at_the_batch_optimal_variance(variance):
    torch.manual_seed(0)
    x = torch.randn(64, 5, dtype=torch.float64)
    decoded = torch.randn(64, 5, dtype=torch.float64, requires_grad=True)
    likelihood = GaussianLikelihood(5, variance=variance).double()
    batch_value = likelihood.batch_log_prob(x, decoded)
    (batch_gradient,) = torch.autograd.grad(batch_value, decoded)

    likelihood.variance.copy_(likelihood.optimal_variance(x, decoded).detach().reshape(-1))
    value = likelihood.log_prob(x, decoded).mean()
    (gradient,) = torch.autograd.grad(value, decoded)
    torch.testing.assert_close(batch_value, value)
    torch.testing.assert_close(batch_gradient, gradient)


@pytest.mark.parametrize("variance", ["feature", "shared"])
def test_incomplete_rows_train_on_their_observed_cells_at_those_cells_optimal_variance(variance):
    torch.manual_seed(0)
    x = torch.randn(64, 5, dtype=torch.float64)
    decoded = torch.randn(64, 5, dtype=torch.float64)
    observed = torch.rand(64, 5) < 0.7
    likelihood = GaussianLikelihood(5, variance=variance).double()
    squares = (x - decoded).square() * observed
    if variance == "feature":
        optimum = squares.sum(dim=0) / observed.sum(dim=0)
    else:
        optimum = squares.sum() / observed.sum()
    cells = -0.5 * (torch.log(2 * math.pi * optimum) + (x - decoded).square() / optimum)
    expected = (cells * observed).sum(dim=1).mean()  # a row's observed cells, averaged over rows
    torch.testing.assert_close(likelihood.batch_log_prob(x, decoded, observed), expected)


def test_a_bernoulli_batch_counts_the_observed_cells_of_each_row_averaged_over_rows():
    torch.manual_seed(0)
    x = (torch.rand(64, 5) < 0.5).float()
    decoded = torch.randn(64, 5)
    observed = torch.rand(64, 5) < 0.7
    cells = -torch.nn.functional.binary_cross_entropy_with_logits(decoded, x, reduction="none")
    value = BernoulliLikelihood().batch_log_prob(x, decoded, observed)
    torch.testing.assert_close(value, (cells * observed).sum(dim=1).mean())
    torch.testing.assert_close(BernoulliLikelihood().batch_log_prob(x, decoded), cells.sum(dim=1).mean())


@pytest.mark.parametrize("variance", ["feature", "shared"])
def test_importance_weighted_draws_are_scored_at_the_batch_optimal_variance(variance):
    torch.manual_seed(0)
    x = torch.randn(32, 3, dtype=torch.float64)
    decoded = torch.randn(4, 32, 3, dtype=torch.float64)  # four draws per row
    weights = torch.softmax(torch.randn(4, 32, dtype=torch.float64), dim=0)
    observed = torch.rand(32, 3) < 0.7
    likelihood = GaussianLikelihood(3, variance=variance).double()
    squared_residuals = (weights[..., None] * (x - decoded).square()).sum(dim=0) * observed
    if variance == "feature":
        optimum = squared_residuals.sum(dim=0) / observed.sum(dim=0)
    else:
        optimum = (squared_residuals.sum() / observed.sum()).reshape(1)
    with likelihood.at_batch_optimum(x, decoded, observed, weights):
        torch.testing.assert_close(likelihood.variance, optimum)
    # Afterwards the running variance has moved toward it by the momentum.
    running = torch.ones_like(optimum).lerp(optimum, likelihood.momentum)
    torch.testing.assert_close(likelihood.variance, running)
    # A step that fails leaves the running variance as it was.
    with (
        pytest.raises(RuntimeError, match="failed step"),
        likelihood.at_batch_optimum(x, decoded, observed, weights),
    ):
        raise RuntimeError("failed step")
    torch.testing.assert_close(likelihood.variance, running)


def test_a_feature_unobserved_in_the_batch_is_scored_at_its_running_variance():
    torch.manual_seed(0)
    x, decoded = torch.randn(8, 2, dtype=torch.float64), torch.randn(3, 8, 2, dtype=torch.float64)
    observed = torch.ones(8, 2, dtype=torch.bool)
    observed[:, 1] = False
    likelihood = GaussianLikelihood(2).double()
    likelihood.variance.copy_(torch.tensor([2.0, 5.0]))
    with likelihood.at_batch_optimum(x, decoded, observed, torch.full((3, 8), 1 / 3, dtype=torch.float64)):
        assert likelihood.variance[1] == 5.0 and likelihood.variance[0] != 2.0
    assert likelihood.variance[1] == 5.0


@pytest.mark.parametrize("n_rows", [1, 3])
def test_a_feature_seen_in_fewer_than_8_cells_of_a_batch_counts_the_running_variance_for_the_rest(n_rows):
    # From one row, the optimal variance would be the squared residual alone: a loss of log |residual|.
    torch.manual_seed(0)
    x = torch.randn(n_rows, 4, dtype=torch.float64)
    decoded = torch.randn(n_rows, 4, dtype=torch.float64, requires_grad=True)
    likelihood = GaussianLikelihood(4).double()
    likelihood.variance.fill_(2.0)
    squares = (x - decoded.detach()).square().sum(dim=0)
    topped_up = (squares + (8 - n_rows) * 2.0) / 8
    value = likelihood.batch_log_prob(x, decoded)
    (gradient,) = torch.autograd.grad(value, decoded)

    # The likelihood at that variance, held fixed; the running variance moves towards it.
    fixed = GaussianLikelihood(4).double()
    fixed.variance.copy_(topped_up)
    expected = fixed.log_prob(x, decoded).mean()
    (expected_gradient,) = torch.autograd.grad(expected, decoded)
    torch.testing.assert_close(value, expected)
    torch.testing.assert_close(gradient, expected_gradient)
    torch.testing.assert_close(likelihood.variance, 2.0 + 0.1 * (topped_up - 2.0))


def test_eight_cells_of_a_feature_make_the_batch_optimum_alone():
    torch.manual_seed(0)
    x, decoded = torch.randn(8, 3, dtype=torch.float64), torch.randn(8, 3, dtype=torch.float64)
    likelihood = GaussianLikelihood(3).double()
    likelihood.variance.fill_(5.0)
    optimum = (x - decoded).square().mean(dim=0)
    expected = -0.5 * (torch.log(2 * math.pi * optimum) + 1.0).sum()
    torch.testing.assert_close(likelihood.batch_log_prob(x, decoded), expected)


def test_student_t_scores_with_the_student_t_density():
    torch.manual_seed(0)
    x, decoded = torch.randn(64, 5, dtype=torch.float64), torch.randn(64, 5, dtype=torch.float64)
    likelihood = StudentTLikelihood(5, df=6.0).double()
    likelihood.scale.copy_(torch.linspace(0.5, 2.0, 5))
    expected = StudentT(6.0, decoded, likelihood.scale.sqrt()).log_prob(x)
    torch.testing.assert_close(likelihood.log_prob_per_feature(x, decoded), expected)
    torch.testing.assert_close(likelihood.log_prob(x, decoded), expected.sum(dim=1))


def test_student_t_scales_ignore_a_few_wild_residuals():
    # A scale fits the bulk of the residuals: 2% of them 30 times larger barely move it.
    torch.manual_seed(0)
    residuals = torch.randn(5000, 1, dtype=torch.float64)
    residuals[:100] *= 30
    likelihood = StudentTLikelihood(1, df=6.0).double()
    squares = residuals.square()
    for _ in range(50):
        likelihood.em_step(squares)
    assert 0.8 < likelihood.scale.item() < 1.3
    assert residuals.square().mean().item() > 15  # the variance a Gaussian would take


def test_the_variance_has_a_floor_where_a_feature_is_reconstructed_exactly():
    x = torch.randn(10, 2, dtype=torch.float64)
    likelihood = GaussianLikelihood(2).double()
    torch.testing.assert_close(likelihood.optimal_variance(x, x), torch.full((2,), 1e-6, dtype=torch.float64))
    expected = -0.5 * (math.log(2 * math.pi * 1e-6) + 1.0) * 2
    assert likelihood.batch_log_prob(x, x).item() == pytest.approx(expected)


def test_the_running_variance_moves_a_tenth_of_the_way_to_each_batchs():
    likelihood = GaussianLikelihood(2, momentum=0.1).double()
    x = torch.zeros(10, 2, dtype=torch.float64)
    likelihood.batch_log_prob(x, x + 2.0)  # squared residuals of 4
    torch.testing.assert_close(likelihood.variance, torch.full((2,), 1.3, dtype=torch.float64))


def test_student_t_scales_take_one_em_step_a_tenth_of_the_way_per_batch():
    likelihood = StudentTLikelihood(2, df=6).double()
    x = torch.zeros(10, 2, dtype=torch.float64)
    likelihood.batch_log_prob(x, x + 2.0)
    # Squared residuals of 4 at scale 1: weights 7 / 10, EM's scale 4; a tenth of the way there.
    torch.testing.assert_close(likelihood.scale, torch.full((2,), 1.3, dtype=torch.float64))


def test_a_student_t_scale_without_an_observed_cell_stays_as_it_was():
    likelihood = StudentTLikelihood(2, df=6)
    likelihood.scale.copy_(torch.tensor([2.0, 3.0]))
    observed = torch.tensor([[True, False]] * 10)
    scale = likelihood.maximised_scale(torch.rand(10, 2), observed)
    assert scale[1].item() == 3.0 and scale[0].item() != 2.0


def test_beside_a_topped_up_feature_the_others_train_at_their_batch_optimum():
    # Feature 1 has 3 cells (topped up); feature 0 has 10 and sits at the floor: no gradient there.
    torch.manual_seed(0)
    x = torch.randn(10, 2, dtype=torch.float64)
    decoded = x.clone().requires_grad_(True)
    with torch.no_grad():
        decoded[:, 1] += 1.0
    observed = torch.ones(10, 2, dtype=torch.bool)
    observed[3:, 1] = False
    likelihood = GaussianLikelihood(2).double()
    value = likelihood.batch_log_prob(x, decoded, observed)
    (gradient,) = torch.autograd.grad(value, decoded)
    assert torch.all(gradient[:, 0] == 0) and torch.all(gradient[:3, 1] != 0)
    topped_up = (3 * 1.0 + 5 * 1.0) / 8  # three squared residuals of 1, five cells at the running 1
    expected = -0.5 * (
        (math.log(2 * math.pi * 1e-6) + 1) * 10 + math.log(2 * math.pi * topped_up) * 3 + 3 / topped_up
    )
    assert value.item() == pytest.approx(expected / 10)
