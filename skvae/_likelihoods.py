"""Observation models p(x|z) for the VAE's decoder.

The decoder network outputs one unbounded vector per row; a likelihood turns
it into a distribution over x: ``batch_log_prob`` is the training term,
``log_prob`` scores rows, ``mean`` gives the reconstruction that
``inverse_transform`` returns.
"""

import math
from contextlib import contextmanager

import torch
from torch import nn
from torch.nn import functional as F

# A feature's batch variance from fewer observed cells than this counts the running variance for the
# cells it lacks. From one row the optimal variance is the squared residual itself, and the loss,
# log |residual|, pays most for fitting that one cell exactly: a VAE streamed one row per partial_fit
# call ended worse than the column means (held-out MSE 3.57 against 3.54; 8 cells: 0.2).
_MIN_BATCH_CELLS = 8


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
        self.register_buffer("variance", torch.ones(1 if self.shared else n_features, dtype=torch.float32))

    def optimal_variance(self, x, decoded):
        """The maximum-likelihood variance for the residuals of these rows."""
        squared_residuals = (x - decoded).square()
        if squared_residuals.shape[-1] == 0:  # a table of categories only: no variance to fit
            return self.variance.clone()
        variance = squared_residuals.mean() if self.shared else squared_residuals.mean(dim=0)
        return variance.clamp(min=self.min_variance)

    def batch_log_prob(self, x, decoded, observed=None):
        """Mean log-likelihood of a training batch's rows at the batch's optimal variance.

        At its optimum the variance makes the squared residuals it divides
        sum to one per observed cell, which leaves a function of the
        variance and of the number of observed cells alone. Its gradient is
        that of the likelihood at a fixed variance (the likelihood is flat
        in the variance there), and the training step needs no separate,
        detached variance. Where the floor binds (a feature reconstructed
        almost exactly) the value is a lower bound, and that feature gets no
        gradient. ``observed`` (a boolean mask, or None when every cell is)
        leaves the missing cells out: they add nothing to the loss. A
        feature with fewer than ``_MIN_BATCH_CELLS`` observed cells is scored
        at its topped-up variance (``_observed_variance``), held fixed.
        """
        few_rows = x.shape[0] * (x.shape[-1] if self.shared else 1) < _MIN_BATCH_CELLS
        if observed is None and not few_rows:
            variance = self.optimal_variance(x, decoded)
            with torch.no_grad():
                self.variance.lerp_(variance.reshape(self.variance.shape), self.momentum)
            return -0.5 * (torch.log(2 * math.pi * variance) + 1.0).expand(x.shape[-1]).sum()
        squared_residuals = (x - decoded).square()
        if observed is None:
            observed = torch.ones_like(squared_residuals)
        variance, counts = self._observed_variance(squared_residuals, observed)
        with torch.no_grad():
            self.variance.lerp_(variance.reshape(self.variance.shape), self.momentum)
        at_optimum = (torch.log(2 * math.pi * variance) + 1.0) * counts
        # A variance topped up with the running one is not the batch's optimum: the likelihood at
        # it, held fixed, for those features alone (a feature at the floor keeps no gradient).
        squares = squared_residuals * observed
        squares = squares.sum() if self.shared else squares.sum(dim=0)
        fixed = variance.detach()
        topped_up = torch.log(2 * math.pi * fixed) * counts + squares / fixed
        terms = torch.where(counts >= _MIN_BATCH_CELLS, at_optimum, topped_up)
        return -0.5 * terms.sum() / x.shape[0]

    @contextmanager
    def at_batch_optimum(self, x, decoded, observed, weights):
        """Score a training batch's K draws per row at the batch's own optimal variance.

        ``decoded`` holds each row's K draws, (K, n, width), and ``weights``
        their normalised importance weights, (K, n): the optimum of the
        importance-weighted bound weighs each draw's squared residuals so.
        Inside the block the variance is that optimum (detached), as
        ``batch_log_prob`` scores the ELBO's single draw at it: a batch the
        decoder fits badly then widens the variance instead of sending
        squared residuals over a narrow running one into the gradient (a
        fit of cardio diverged so). The running variance moves toward it.
        """
        with torch.no_grad():
            squared_residuals = torch.einsum("kn,knw->nw", weights, (x - decoded).square())
            if observed is None:
                observed = torch.ones_like(squared_residuals)
            batch_variance = self._observed_variance(squared_residuals, observed)[0].reshape(
                self.variance.shape
            )
        running = self.variance
        self.variance = batch_variance
        try:
            yield
        finally:
            self.variance = running
        with torch.no_grad():  # only once the batch is scored
            running.lerp_(batch_variance, self.momentum)

    def _observed_variance(self, squared_residuals, observed):
        """The maximum-likelihood variance of the observed cells' squared residuals (rows first), and
        how many cells it counts: per feature, or all of them for a shared variance. A variance of
        fewer than _MIN_BATCH_CELLS cells counts the running variance for the cells it lacks (a
        feature with no observed cell in the batch keeps the running variance itself)."""
        squared_residuals = squared_residuals * observed
        counts = observed.sum(dim=0, dtype=squared_residuals.dtype)
        if self.shared:
            squared_residuals, counts = squared_residuals.sum(), counts.sum()
        else:
            squared_residuals = squared_residuals.sum(dim=0)
        # Exactly the mean square where nothing lacks (no host sync to tell the cases apart).
        lacking = (_MIN_BATCH_CELLS - counts).clamp(min=0)
        running = self.variance.reshape(counts.shape).to(squared_residuals)
        variance = (squared_residuals + lacking * running) / (counts + lacking)
        return variance.clamp(min=self.min_variance), counts

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

    # The distribution the networks train with, also in a subclass that scores with another.
    training_log_prob_per_feature = log_prob_per_feature
    training_log_prob = log_prob

    def mean(self, decoded):
        return decoded

    def training_sample(self, mean, generator):
        """x ~ N(mean, variance), the distribution the networks train with (a Student-t's too)."""
        noise = torch.randn(mean.shape, generator=generator, dtype=mean.dtype, device=mean.device)
        return mean + self.variance.sqrt().to(mean.device) * noise


class StudentTLikelihood(GaussianLikelihood):
    """Scores x ~ Student-t(df, decoded, scale); trains as the Gaussian.

    A Gaussian's log-likelihood falls with the square of a residual, so its
    maximum-likelihood variance is set by the largest residuals among the
    training rows (anomalies, heavy tails): it widens the scale of the very
    features in which rows are abnormal, and flattens their scores. A
    Student-t's log-likelihood falls with the logarithm of a large residual:
    its scale fits the bulk of the residuals, and its tails absorb the rest.

    The networks train with the Gaussian's closed-form variance (see
    :class:`GaussianLikelihood`), and the Student-t's squared scales
    (``scale``) follow it: each training batch takes one EM step (a mean of
    the squared residuals weighted by their expected precisions) into a
    running average, and the estimator finally fits them to its training
    rows (:meth:`em_step`, repeated). ``df`` is fixed; ``scale`` holds the
    squared scales.
    """

    def __init__(self, n_features, df, min_variance=1e-6, momentum=0.1):
        super().__init__(n_features, variance="feature", min_variance=min_variance, momentum=momentum)
        self.register_buffer("df", torch.tensor(float(df), dtype=torch.float32))
        self.register_buffer("scale", torch.ones(n_features, dtype=torch.float32))

    def precision_weights(self, squared_residuals):
        """EM's E step: each residual's expected precision under the current scales."""
        return (self.df + 1) / (self.df + squared_residuals / self.scale)

    def maximised_scale(self, squared_residuals, observed=None):
        """One EM step from the current scales: the squared scales for these squared residuals
        (rows along the first dimension), where ``observed`` is true if given.

        E step: each residual's expected precision (:meth:`precision_weights`).
        M step: the precision-weighted squares summed over the rows, divided by
        the weights' sum rather than by the number of rows, as in the
        parameter-expanded EM (Kent, Tyler & Vardi, 1994; Liu, Rubin & Wu,
        1998): the fixed point is the same -- at the maximum the weights
        average to 1 -- and it is reached in fewer steps.
        """
        weights = self.precision_weights(squared_residuals)
        if observed is not None:
            weights = weights * observed
        weight_sums = weights.sum(dim=0)
        scale = (weights * squared_residuals).sum(dim=0) / weight_sums.clamp(min=1e-30)
        # A feature with no observed cell keeps its scale.
        return torch.where(weight_sums > 0, scale, self.scale).clamp(min=self.min_variance).to(self.scale)

    def em_step(self, squared_residuals, observed=None):
        """One EM step: the scales become :meth:`maximised_scale`'s."""
        self.scale.copy_(self.maximised_scale(squared_residuals, observed))

    def batch_log_prob(self, x, decoded, observed=None):
        with torch.no_grad():
            self.scale.lerp_(self.maximised_scale((x - decoded).square(), observed), self.momentum)
        return super().batch_log_prob(x, decoded, observed)

    def log_normaliser(self):
        df = self.df
        return torch.lgamma((df + 1) / 2) - torch.lgamma(df / 2) - 0.5 * torch.log(df * math.pi * self.scale)

    def log_prob_per_feature(self, x, decoded):
        squares = (x - decoded).square() / (self.df * self.scale)
        return self.log_normaliser() - (self.df + 1) / 2 * torch.log1p(squares)

    def log_prob(self, x, decoded):
        # As the Gaussian's: few passes over the (samples, rows, features) block,
        # in place, and the normalising term summed over the features once.
        inv_scale = (self.df * self.scale).rsqrt()
        terms = torch.addcmul(x * inv_scale, decoded, inv_scale, value=-1.0).square_().log1p_()
        return self.log_normaliser().sum() - (self.df + 1) / 2 * terms.sum(dim=-1)


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

    training_log_prob_per_feature = log_prob_per_feature
    training_log_prob = log_prob

    def batch_log_prob(self, x, decoded, observed=None):
        """Mean log-likelihood of a training batch's rows (over their observed cells)."""
        terms = self.log_prob_per_feature(x, decoded)
        return (terms if observed is None else terms * observed).sum(dim=-1).mean()

    @contextmanager
    def at_batch_optimum(self, x, decoded, observed, weights):
        """No variance to set: as the Gaussian's, for training on importance-weighted draws."""
        yield

    def mean(self, decoded):
        return torch.sigmoid(decoded)

    def training_sample(self, mean, generator):
        """x ~ Bernoulli(mean)."""
        return torch.bernoulli(mean, generator=generator)


# Degrees of freedom of likelihood="student_t". Chosen on the development half of the
# shared ADBench sets among 3, 4, 6 and 15 (docs/benchmarks.rst, "Anomaly detection").
_STUDENT_T_DF = 6.0


def make_likelihood(name, n_features):
    if name == "bernoulli":
        return BernoulliLikelihood()
    if name == "student_t":
        return StudentTLikelihood(n_features, df=_STUDENT_T_DF)
    return GaussianLikelihood(n_features, variance="shared" if name == "gaussian_shared" else "feature")
