"""Observation models p(x|z) for the VAE's decoder.

The decoder network outputs one unbounded vector per row; a likelihood turns
it into a distribution over x: ``log_prob`` scores rows, ``mean`` gives the
reconstruction that ``inverse_transform`` returns.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F


class GaussianLikelihood(nn.Module):
    """x ~ N(decoded, variance) with the variance set to its optimum.

    For a Gaussian decoder the variance that maximises the likelihood is the
    mean squared residual, so it is computed rather than learned by gradient
    steps (which take thousands of steps to get there): in training from each
    batch, like BatchNorm's statistics, and as a running average for
    evaluation, which the estimator finally sets from all training rows
    (Rybkin et al., 2021, "calibrated decoders"). ``variance="feature"`` has
    one variance per feature (as FactorAnalysis), ``"shared"`` one for all
    (as probabilistic PCA). The floor ``min_variance`` keeps the likelihood
    bounded: a constant column would otherwise drive it to infinity (Mattei
    & Frellsen, 2018).
    """

    def __init__(self, n_features, variance="feature", min_variance=1e-6, momentum=0.1):
        super().__init__()
        self.shared = variance == "shared"
        self.min_variance = min_variance
        self.momentum = momentum
        self.register_buffer("variance", torch.ones(1 if self.shared else n_features))

    def optimal_variance(self, x, decoded):
        """The maximum-likelihood variance for the residuals of these rows."""
        squared_residuals = (x - decoded).square()
        variance = squared_residuals.mean() if self.shared else squared_residuals.mean(dim=0)
        return variance.clamp(min=self.min_variance)

    def batch_log_prob(self, x, decoded):
        """Mean log-likelihood of a training batch's rows at the batch's optimal variance.

        At its optimum the variance makes the squared residuals it divides
        sum to one per row and feature, which leaves a function of the
        variance alone. Its gradient is that of the likelihood at a fixed
        variance (the likelihood is flat in the variance there), and the
        training step needs no separate, detached variance. Where the floor
        binds (a feature reconstructed almost exactly) the value is a lower
        bound, and that feature gets no gradient.
        """
        variance = self.optimal_variance(x, decoded)
        with torch.no_grad():
            self.variance.lerp_(variance.reshape(self.variance.shape), self.momentum)
        return -0.5 * (torch.log(2 * math.pi * variance) + 1.0).expand(x.shape[-1]).sum()

    def log_prob_per_feature(self, x, decoded):
        variance = self.variance
        return -0.5 * ((x - decoded).square() / variance + torch.log(2 * math.pi * variance))

    def log_prob(self, x, decoded):
        # Scoring K importance samples per row is bound by memory traffic:
        # one fused pass scales the residuals, one more takes their norms
        # (four times faster than subtract, square, divide and sum). The
        # normalising term is summed over the features once, not per row.
        inv_std = self.variance.rsqrt()
        scaled_residuals = torch.addcmul(x * inv_std, decoded, inv_std, value=-1.0)
        log_normaliser = torch.log(2 * math.pi * self.variance).expand(x.shape[-1]).sum()
        return -0.5 * (torch.linalg.vector_norm(scaled_residuals, dim=-1).square() + log_normaliser)

    def mean(self, decoded):
        return decoded


class BernoulliLikelihood(nn.Module):
    """x ~ Bernoulli(sigmoid(decoded)) for data in [0, 1].

    Values strictly between 0 and 1 are scored with the same cross-entropy
    (the "continuous Bernoulli" without its normaliser), as is customary for
    grey-level images.
    """

    def log_prob_per_feature(self, x, decoded):
        x = x.expand_as(decoded)  # x may be shared by several decoded samples
        return -F.binary_cross_entropy_with_logits(decoded, x, reduction="none")

    def log_prob(self, x, decoded):
        return self.log_prob_per_feature(x, decoded).sum(dim=-1)

    def batch_log_prob(self, x, decoded):
        """Mean log-likelihood of a training batch's rows."""
        return self.log_prob(x, decoded).mean()

    def mean(self, decoded):
        return torch.sigmoid(decoded)


def make_likelihood(name, n_features):
    if name == "bernoulli":
        return BernoulliLikelihood()
    return GaussianLikelihood(n_features, variance="shared" if name == "gaussian_shared" else "feature")
