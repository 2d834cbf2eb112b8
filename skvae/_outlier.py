"""scikit-learn's outlier-detection API for the autoencoders.

The detectors are the transformers with different defaults and four more
things: three as :class:`~sklearn.ensemble.IsolationForest` has them --
``contamination`` sets ``offset_`` from the training scores,
``decision_function`` is ``score_samples - offset_`` and ``predict`` says +1
(inlier) or -1 (outlier) -- and ``feature_contributions``, which tells which
features make a row abnormal (see ``_feature_contributions``). Each detector says what
its score is.
"""

import math
from numbers import Real

import numpy as np
import torch
from sklearn.base import OutlierMixin
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import MAX_ITER_OR_AUTO
from ._column_statistics import evenly_spaced_rows
from ._feature_contributions import FeatureContributionsMixin
from ._new_categories import NewCategoriesMixin

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
# Robust training leaves out at most this share of a batch: beyond it the rows left out are
# no minority of anomalies but data the networks have yet to learn. Normal rows in clusters of
# 50%, 30% and 20% (standardised, 5 features) made the VAE's fence leave out 30-40% of each
# batch throughout training, and the three clusters' mean scores were -5.0, -11.4 and -10.7
# where training on every row gave 1.2, -1.2 and -1.8 (with the cap -2.0, -4.0 and -19.0: a
# cluster of a fifth of the rows can still be left out as anomalies would be). Over the ADBench
# sets (bench_anomaly.py, the VAE, ROC-AUC / AP): development half 0.893 / 0.492 against 0.891 /
# 0.485, confirmation half 0.860 / 0.496 against 0.860 / 0.497, the contamination sweep within
# 0.001 ROC-AUC at each level; a cap of 0.2 lost on the development half (0.884 / 0.480: Stamps
# 0.885 -> 0.818), 0.1 more (0.885 / 0.466, and 0.833 on the confirmation half).
_MAX_LEFT_OUT = 0.3


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


class _OutlierDetectorMixin(NewCategoriesMixin, FeatureContributionsMixin, OutlierMixin):
    """contamination, offset_, decision_function and predict; feature_contributions from
    ``FeatureContributionsMixin``; categories not seen in fit counted in the scores and the
    contributions from ``NewCategoriesMixin``.

    Training is robust: each optimizer step leaves out the rows of its batch
    that the model fits worst (see ``_kept_rows``).
    """

    # max_iter is a training budget (detection needs less training than reconstruction):
    # reaching it is no failure to converge, and every default fit would warn.
    _warns_unconverged = False

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

    # -- shared machinery ----------------------------------------------------

    def _auto_steps(self, n_features):
        """The optimizer steps of ``max_iter="auto"``: fewer on wide data."""
        return min(_STEP_BUDGET, _COLUMN_STEP_BUDGET / max(n_features, 1))

    def _kept_rows(self, row_losses):
        """Which rows of a training batch the loss keeps: all but those far above the batch's median.

        A robust fence (median plus ``robust_threshold`` robust standard
        deviations, from the median absolute deviation): anomalies among
        the training rows are the rows the model fits worst, and as long as
        they are a minority they cannot move the fence. It leaves out at
        most ``_MAX_LEFT_OUT`` of the rows.
        """
        row_losses = row_losses.detach()
        center, spread = _robust_center_and_spread(row_losses)
        fence = center + self.robust_threshold * spread
        # Never more than _MAX_LEFT_OUT of the batch: the rows fitted best are kept up to that.
        n_kept = len(row_losses) - math.floor(_MAX_LEFT_OUT * len(row_losses))
        # fmax: a NaN fence (an infinite loss among the rows) still keeps the best-fitted rows.
        return row_losses <= torch.fmax(fence, row_losses.kthvalue(n_kept).values)

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
        self._fit_explanations(X)

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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "outlier_detector"
        return tags
