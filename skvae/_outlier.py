"""scikit-learn's outlier-detection API for the autoencoders.

The detectors are the transformers with different defaults and three more
things, as :class:`~sklearn.ensemble.IsolationForest` has them:
``contamination`` sets ``offset_`` from the training scores,
``decision_function`` is ``score_samples - offset_`` and ``predict`` says +1
(inlier) or -1 (outlier). ``feature_contributions`` tells which features make
a row abnormal. Each detector says what its score is.
"""

import sys
from numbers import Real

import numpy as np
from sklearn.base import OutlierMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted


class _OutlierDetectorMixin(OutlierMixin):
    """contamination, offset_, decision_function, predict and feature_contributions."""

    _detector_constraints: dict = {
        "contamination": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")],
    }

    def _after_fit(self, X):
        super()._after_fit(X)
        self._fit_feature_scale(X)
        scores = self._map_rows(self._score_rows, X)
        if self.contamination == "auto":
            # Tukey's lower fence: rows scoring far below the bulk of the
            # training rows, whatever the scale of the scores.
            q1, q3 = np.percentile(scores, [25, 75])
            self.offset_ = float(q1 - 1.5 * (q3 - q1))
        else:
            self.offset_ = float(np.percentile(scores, 100.0 * self.contamination))

    def _fit_feature_scale(self, X):
        """Hook: learn whatever per-feature normalisation the score uses."""

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

    def feature_contributions(self, X):
        """Each feature's part in each row's anomaly score.

        Parameters
        ----------
        X : {array-like, sparse matrix} or DataFrame of shape (n_samples, n_features)
            Rows to explain.

        Returns
        -------
        contributions : ndarray or DataFrame of shape (n_samples, n_features)
            Per-feature terms of the score (see the class's description); the
            most negative terms are the features that make a row abnormal. A
            DataFrame, with X's index and column names, when X is one.
        """
        check_is_fitted(self)
        # pandas is imported only by users who pass DataFrames.
        pd = sys.modules.get("pandas")
        frame = pd is not None and isinstance(X, pd.DataFrame)
        # X's own columns: a model fitted on an array has no feature_names_in_.
        index, columns = (X.index, X.columns) if frame else (None, None)
        X = self._validate_X(X, reset=False)
        self._check_input_range(X)
        self._check_rows_observed(X)
        contributions = self._map_rows(self._feature_terms, X)
        if index is None:
            return contributions
        return pd.DataFrame(contributions, index=index, columns=columns)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "outlier_detector"
        return tags
