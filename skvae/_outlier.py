"""scikit-learn's outlier-detection API for the autoencoders.

The detectors are the transformers with different defaults and four more
things: three as :class:`~sklearn.ensemble.IsolationForest` has them --
``contamination`` sets ``offset_`` from the training scores,
``decision_function`` is ``score_samples - offset_`` and ``predict`` says +1
(inlier) or -1 (outlier) -- and ``feature_contributions``, which tells which
features make a row abnormal (see ``_explanation``). Each detector says what
its score is.
"""

import sys
from numbers import Real

import numpy as np
import pandas as pd
import torch
from sklearn.base import OutlierMixin
from sklearn.utils._param_validation import Interval, StrOptions, validate_parameter_constraints

from ._base import MAX_ITER_OR_AUTO
from ._column_kinds import polars_frame
from ._column_statistics import evenly_spaced_rows
from ._explanation import chunk_rows, robust_surprise
from ._likelihoods import BernoulliLikelihood
from ._networks import decode_draws
from ._residual_correction import code_terms, fit_correction
from ._tensors import nan_where_missing

# Training rows whose codes are kept as starting points of the robust re-encoding.
_N_ANCHORS = 256
# Training rows whose residuals fit the decoder's correction (see _residual_correction):
# up to 2,000, fewer for wide rows (2**21 cells), at least 200.
_CORRECTION_ROWS, _CORRECTION_CELLS, _MIN_CORRECTION_ROWS = 2000, 2**21, 200
# offset_ is a quantile of the training rows' scores, and scoring them all is most of a
# wide fit's time (the VAE scores each row with 50 importance samples: 3.3 of a 5.7 CPU s
# fit of 7,000 x 768). Beyond this many cells, evenly spaced rows stand for them, at
# least _MIN_OFFSET_ROWS: 2,730 rows of 768 columns. Of the shared ADBench sets only
# InternetAds is over (1,348 of its 1,376 training rows).
_OFFSET_CELLS = 2**21
_MIN_OFFSET_ROWS = 1000
# Optimizer steps that max_iter="auto" trains for. A fixed number of epochs gives a
# 100-row data set 1 step per epoch and a 10,000-row one 50: too little training for the
# one or too long a fit for the other. 1,000 steps are 29 epochs of 7,000 rows (about the
# VAE detector's former 30, chosen on such data) and keep a fit of 10,000 rows
# within a few seconds on one thread.
_STEP_BUDGET = 1000
# ... and at most this many steps times input columns: a step's cost grows with the
# columns. 100,000 keeps a fit of 7,000 rows of 100 to 768 columns within the time of
# one of 100 columns (1,000 steps); with 200,000, 150 to 300 columns took 25% longer
# (bench_anomaly.py --fit-time).
_COLUMN_STEP_BUDGET = 100_000
# Median absolute deviation -> standard deviation, for normally distributed values.
_MAD_TO_STD = 1.4826
# A MAD below this share of the losses' median deviation above the median has collapsed:
# more than half the batch sits at about one loss. On the gallery's sensors the share was
# 0.07 or more; on donors and campaign it fell below 0.01 in a tenth of the VAE's batches,
# whose trimming to the densest half helped there. With 0.001 rather than 0.01 (ROC-AUC /
# AP of the VAE): confirmation half 0.860 / 0.494 against 0.859 / 0.491 (0.862 / 0.496
# with no floor), the eight sets nobody chose on 0.529 / 0.287 against 0.527 / 0.287
# (0.523 / 0.286); the development half 0.892 / 0.483 with each.
_COLLAPSED_MAD = 0.001


def _robust_center_and_spread(losses):
    """The median of ``losses`` and their robust standard deviation (from the MAD).

    Where more than half of them sit at about one value (duplicate or near-duplicate rows),
    the MAD is about 0 and a fence on it would leave out every other row: the losses above
    that value are then fenced on their own (57% all-zero rows: ROC-AUC 0.66 -> 0.99).
    """
    median = losses.median()
    mad = (losses - median).abs().median()
    above = losses[losses > median]
    if len(above) and mad < _COLLAPSED_MAD * (above.median() - median):
        return _robust_center_and_spread(above)
    return median, _MAD_TO_STD * mad


class _OutlierDetectorMixin(OutlierMixin):
    """contamination, offset_, decision_function, predict and feature_contributions.

    Training is robust: each optimizer step leaves out the rows of its batch
    that the model fits worst (see ``_kept_rows``).
    """

    # max_iter is a training budget (detection needs less training than reconstruction):
    # reaching it is no failure to converge, and every default fit would warn.
    _warns_unconverged = False
    # Whether feature_contributions' robust fit keeps codes near the training rows' by a kernel
    # density of the anchors rather than by _code_prior (see _explanation).
    _anchor_density_prior = False

    _detector_constraints: dict = {
        "contamination": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")],
        "robust_threshold": [Interval(Real, 0, None, closed="neither"), None],
        "max_iter": MAX_ITER_OR_AUTO,
    }

    # -- what the detectors provide ------------------------------------------

    def _fit_column_statistics(self, X):
        """Hook: learn the per-column statistics the score uses (the autoencoder's error
        scales, the VAE's typical log-likelihood of a missing cell), before the training
        rows are scored for ``offset_``."""

    def _reconstruction_contributions(self, X):
        """feature_contributions(method="reconstruction") of coded rows: per-column terms of the score."""
        raise NotImplementedError

    def _surprise(self, x, decoded, observed):
        """Each column's surprise at the decoder's outputs (see ``_explanation``); 0 where missing."""
        raise NotImplementedError

    def _surprise_as_contributions(self, surprise):
        """feature_contributions(method="robust") from the robust search's surprises."""
        raise NotImplementedError

    def _code_prior(self, anchors):
        """The robust search's penalty on the codes, ``(center, precision)``, or None for none."""
        raise NotImplementedError

    # -- shared machinery ----------------------------------------------------

    def _auto_steps(self, n_features):
        """The optimizer steps of ``max_iter="auto"``: fewer on wide data."""
        return min(_STEP_BUDGET, _COLUMN_STEP_BUDGET / max(n_features, 1))

    def _kept_rows(self, row_losses):
        """Which rows of a training batch the loss keeps: all but those far above the batch's median.

        A robust fence (median plus ``robust_threshold`` robust standard
        deviations, from the median absolute deviation): anomalies among
        the training rows are the rows the model fits worst, and as long as
        they are a minority they cannot move the fence.
        """
        row_losses = row_losses.detach()
        center, spread = _robust_center_and_spread(row_losses)
        return row_losses <= center + self.robust_threshold * spread

    def _after_fit(self, X):
        super()._after_fit(X)
        self._fit_column_statistics(X)
        rows = evenly_spaced_rows(X.shape[0], max(_MIN_OFFSET_ROWS, _OFFSET_CELLS // max(X.shape[1], 1)))
        scores = self._map_rows(self._score_rows, X[rows])
        if self.contamination == "auto":
            # Tukey's lower fence: rows scoring far below the bulk of the
            # training rows, whatever the scale of the scores.
            q1, q3 = np.percentile(scores, [25, 75])
            self.offset_ = float(q1 - 1.5 * (q3 - q1))
        else:
            self.offset_ = float(np.percentile(scores, 100.0 * self.contamination))
        rows = evenly_spaced_rows(X.shape[0], _N_ANCHORS)
        self._anchor_codes = self._map_rows(self._encode, X[rows]).astype(np.float32)
        n_rows = max(_MIN_CORRECTION_ROWS, min(_CORRECTION_ROWS, _CORRECTION_CELLS // max(X.shape[1], 1)))
        self._fit_residual_correction(X[evenly_spaced_rows(X.shape[0], n_rows)])

    def _fit_residual_correction(self, X):
        """For feature_contributions(method="robust"): the decoder's correction on the training
        rows X, and each column's mean corrected surprise there (see _residual_correction)."""
        self._residual_weights = self._surprise_divisor = None
        if isinstance(getattr(self, "likelihood_", None), BernoulliLikelihood):
            return  # a Bernoulli decoder outputs log-odds: no residual to correct
        n_components = self.n_components_
        codes_and_residuals = torch.as_tensor(self._map_rows(self._codes_and_residuals, X, allow_nan=True))
        codes, residuals = codes_and_residuals[:, :n_components], codes_and_residuals[:, n_components:]
        observed = ~torch.isnan(residuals)
        weights = fit_correction(codes, residuals.nan_to_num(), None if observed.all() else observed)
        # C order, as load gives it back: the same layout sums the same way, to the last bit.
        self._residual_weights = np.ascontiguousarray(weights.numpy(), dtype=np.float32)
        divisor = self._column_means(self._corrected_surprise_at_encoding, X)
        # A column never observed divides by 1. No floor beyond the detector's own scales: the
        # columns the training rows reproduce almost exactly are the telling ones (a floor at a
        # thousandth of the uncorrected surprise took the VAE's precision on ALOI from 0.37 to
        # 0.22). Categorical columns too: a VAE's cross-entropy of K even categories is log K
        # on every row, and named an intact column of 20 the most abnormal in 96% of rows.
        divisor = np.where(np.isfinite(divisor) & (divisor > 0), divisor, 1.0)
        self._surprise_divisor = divisor.astype(np.float32)

    def _codes_and_residuals(self, X):
        """Each row's code, then each numeric column's value minus the decoder's output there (NaN
        where missing), side by side."""
        x, observed = self._prepare(X)
        layout = self._layout(x.device)
        z = self._encoder_mean(x)
        residuals = layout.numeric_part(x) - layout.numeric_part(self.decoder_(z))
        return torch.cat([z, nan_where_missing(residuals, layout.numeric_mask(observed))], dim=-1)

    def _corrected_surprise_at_encoding(self, X):
        """Each column's corrected surprise at the encoder's code (0 where missing), and the observed mask."""
        x, observed = self._prepare(X)
        return self._corrected_surprise(x, self._encoder_mean(x), observed), observed

    def _corrected_surprise(self, x, z, observed):
        """Each column's surprise at code z against the decoder's output corrected for what it
        gets wrong on the training rows (the plain output for a Bernoulli likelihood, or a
        model saved before the correction)."""
        # The search hands over codes of several starting points at once, (..., n, n_components).
        decoded = decode_draws(self.decoder_, z)
        weights = getattr(self, "_residual_weights", None)
        if weights is not None:
            correction = code_terms(z) @ torch.as_tensor(weights, dtype=z.dtype, device=z.device)
            decoded = decoded.index_add(decoded.dim() - 1, self._layout(x.device).numeric, correction)
        return self._surprise(x, decoded, observed)

    def _explained_surprise(self, x, z, observed):
        """The corrected surprise in units of its mean on the training rows: what the robust
        explanations search with."""
        surprise = self._corrected_surprise(x, z, observed)
        divisor = getattr(self, "_surprise_divisor", None)
        if divisor is None:
            return surprise
        return surprise / torch.as_tensor(divisor, dtype=surprise.dtype, device=surprise.device)

    def decision_function(self, X):
        """Shifted score: negative for outliers, positive for inliers.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to judge.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            ``score_samples(X) - offset_``.
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """Say whether each row is an inlier (+1) or an outlier (-1).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to judge.

        Returns
        -------
        is_inlier : ndarray of shape (n_samples,)
            +1 for inliers, -1 for outliers.
        """
        return np.where(self.decision_function(X) < 0, -1, 1)

    def feature_contributions(self, X, method="robust"):
        """Each feature's part in making each row abnormal.

        Parameters
        ----------
        X : {array-like, sparse matrix} or DataFrame of shape (n_samples, n_features)
            Rows to explain.

        method : {"robust", "reconstruction"}, default="robust"
            "robust": each feature's squared error when the row is encoded
            again, robustly (ignoring the features its other features
            contradict) and without that feature -- so that a broken feature
            does not spread its blame over the others -- against the
            decoder's output corrected for its errors on the training rows.
            "reconstruction": the
            per-feature terms of the score itself (see the class's
            description). A missing cell's contribution is 0 for both.

        Returns
        -------
        contributions : ndarray or DataFrame of shape (n_samples, n_features)
            One term per row and feature, in the units the class's
            description gives; the most negative terms are the features that
            make a row abnormal. A DataFrame, with X's index and column
            names, when X is one (a polars DataFrame for a polars X).
        """
        validate_parameter_constraints(
            {"method": [StrOptions({"robust", "reconstruction"})]},
            {"method": method},
            caller_name="feature_contributions",
        )
        # X's own columns: a model fitted on an array has no feature_names_in_.
        index, columns = (X.index, X.columns) if isinstance(X, pd.DataFrame) else (None, None)
        polars_columns = list(X.columns) if polars_frame(X) else None
        X = self._validated_rows(X)
        if method == "robust":
            contributions = self._map_rows(self._robust_contributions, X, chunk_rows=chunk_rows(X.shape[1]))
        else:
            contributions = self._map_rows(self._reconstruction_contributions, X)
        contributions += 0.0  # a missing cell's term is 0, not the -0.0 of a masked negative term
        if polars_columns is not None:
            # polars is not a dependency: a polars X means the user has imported it.
            return sys.modules["polars"].DataFrame(contributions, schema=polars_columns, orient="row")
        if index is None:
            return contributions
        return pd.DataFrame(contributions, index=index, columns=columns)

    def _robust_contributions(self, X):
        x, observed = self._prepare(X)
        # The search differentiates through these: ordinary tensors, not inference mode's.
        with torch.inference_mode(False):
            x = x.clone()
            observed = None if observed is None else observed.clone()
        # Models saved before the anchors existed start from the encoder's code alone.
        anchors = getattr(self, "_anchor_codes", None)
        anchors = None if anchors is None else torch.as_tensor(anchors, device=x.device)
        surprise = robust_surprise(
            lambda z: self._explained_surprise(x, z, observed),
            self._encoder_mean(x),
            anchors,
            prior=self._code_prior(anchors),
            anchor_density=self._anchor_density_prior,
        )
        return self._surprise_as_contributions(surprise)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "outlier_detector"
        return tags
