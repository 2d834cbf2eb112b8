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
        """The maximum-likelihood variance for these residuals (rows along dim -2)."""
        return self._variance_of((x - decoded).square())

    def _variance_of(self, squared_residuals):
        squared_residuals = squared_residuals.reshape(-1, squared_residuals.shape[-1])
        variance = squared_residuals.mean() if self.shared else squared_residuals.mean(dim=0)
        return variance.clamp(min=self.min_variance)

    def _squared_residuals_and_variance(self, x, decoded):
        squared_residuals = (x - decoded).square()
        if not self.training:
            return squared_residuals, self.variance
        variance = self._variance_of(squared_residuals.detach())
        self.variance.lerp_(variance.reshape(self.variance.shape), self.momentum)
        return squared_residuals, variance

    def log_prob_per_feature(self, x, decoded):
        squared_residuals, variance = self._squared_residuals_and_variance(x, decoded)
        return -0.5 * (squared_residuals / variance + torch.log(2 * math.pi * variance))

    def log_prob(self, x, decoded):
        # The normalising term is summed over the features once, not per row.
        squared_residuals, variance = self._squared_residuals_and_variance(x, decoded)
        log_normaliser = torch.log(2 * math.pi * variance).expand(x.shape[-1]).sum()
        return -0.5 * ((squared_residuals / variance).sum(dim=-1) + log_normaliser)

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

    def mean(self, decoded):
        return torch.sigmoid(decoded)


def make_likelihood(name, n_features):
    if name == "bernoulli":
        return BernoulliLikelihood()
    return GaussianLikelihood(n_features, variance="shared" if name == "gaussian_shared" else "feature")
