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
    """x ~ N(decoded, variance) with a learned variance.

    ``variance="feature"`` learns one variance per feature, ``"shared"`` one
    for all. The floor ``min_variance`` keeps the likelihood bounded: without
    it a constant column drives its variance, and the log-likelihood, to
    infinity (Mattei & Frellsen, 2018).
    """

    def __init__(self, n_features, variance="feature", min_variance=1e-6):
        super().__init__()
        self.min_variance = min_variance
        shape = (n_features,) if variance == "feature" else (1,)
        self.raw_variance = nn.Parameter(torch.zeros(shape))

    @property
    def variance(self):
        return self.min_variance + F.softplus(self.raw_variance)

    def log_prob_per_feature(self, x, decoded):
        variance = self.variance
        return -0.5 * ((x - decoded).square() / variance + torch.log(2 * math.pi * variance))

    def log_prob(self, x, decoded):
        return self.log_prob_per_feature(x, decoded).sum(dim=-1)

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
    return GaussianLikelihood(n_features)
