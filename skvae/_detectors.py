"""Outlier detectors: the autoencoders with scikit-learn's outlier-detection API.

They are the transformers with different defaults and three more things, as
:class:`~sklearn.ensemble.IsolationForest` has them: ``contamination`` sets
``offset_`` from the training scores, ``decision_function`` is
``score_samples - offset_`` and ``predict`` says +1 (inlier) or -1 (outlier).
``feature_contributions`` tells which features make a row abnormal.
"""

import sys
from numbers import Real

import numpy as np
import torch
from sklearn.base import OutlierMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._autoencoder import AutoencoderTransformer
from ._vae import VAETransformer


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
        X : array-like of shape (n_samples, n_features)
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
        X : array-like of shape (n_samples, n_features)
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
        X : array-like or DataFrame of shape (n_samples, n_features)
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
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        self._check_input_range(X)
        contributions = self._map_rows(self._feature_terms, X)
        if index is None:
            return contributions
        return pd.DataFrame(contributions, index=index, columns=columns)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "outlier_detector"
        return tags


class AutoencoderOutlierDetector(_OutlierDetectorMixin, AutoencoderTransformer):
    """Anomaly detection by autoencoder reconstruction error.

    Rows the autoencoder reconstructs badly are anomalies. Each feature's
    squared error is divided by that feature's mean squared error on the
    training rows, so that features which are hard to reconstruct for every
    row do not drown the others: ``score_samples`` is minus the sum of these
    normalised errors, and ``feature_contributions`` returns the terms of
    that sum (they add up to ``score_samples`` exactly).

    Parameters
    ----------
    n_components : int, default=8
        Size of the code (the bottleneck).

    contamination : "auto" or float in (0, 0.5], default="auto"
        Share of outliers expected in the training data; sets ``offset_`` to
        that quantile of the training scores. "auto" uses Tukey's lower fence
        (first quartile minus 1.5 interquartile ranges) instead.

    hidden_layer_sizes : array-like of int, default=(128,)
        Widths of the encoder's hidden layers, from the input inwards. The
        decoder mirrors them.

    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
        Activation between layers.

    alpha : float, default=1e-4
        Strength of the L2 penalty on the weights, scaled as in MLPRegressor.

    batch_size : int or "auto", default="auto"
        Rows per mini-batch; "auto" means ``min(200, n_samples)``.

    learning_rate_init : float, default=2e-3
        Adam's learning rate.

    max_iter : int, default=10
        Maximum number of epochs. Few on purpose: the training rows hold the
        anomalies too, and an autoencoder trained long learns to reconstruct
        them as well.

    tol : float, default=1e-4
        Improvement of the training loss (or, with ``early_stopping``, of the
        validation score) below which an epoch counts as no improvement.

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows, stop when their score
        stops improving and restore the best weights.

    validation_fraction : float, default=0.1
        Share of the rows held out with ``early_stopping``.

    n_iter_no_change : int, default=10
        Epochs without improvement by ``tol`` after which training stops.

    shuffle : bool, default=True
        Whether to shuffle the rows before each epoch.

    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling and the validation split. An
        int gives bit-identical refits on CPU; global RNGs are not touched.

    warm_start : bool, default=False
        Continue from the previous fit's weights instead of starting anew.

    verbose : int, default=0
        Print one line per epoch when positive.

    device : {"cpu", "cuda", "auto"}, default="cpu"
        Where to train and infer; "auto" takes a GPU when torch sees one.

    Attributes
    ----------
    offset_ : float
        Threshold on ``score_samples``: ``decision_function`` subtracts it.

    reconstruction_scale_ : ndarray of shape (`n_features_in_`,)
        Mean squared reconstruction error of each feature on the training rows.

    encoder_ : torch.nn.Module
        The trained encoder, from ``n_features_in_`` to ``n_components``.

    decoder_ : torch.nn.Module
        The trained decoder network.

    n_iter_ : int
        Number of epochs run.

    loss_curve_ : list of float
        Mean training loss after each epoch: the squared reconstruction error per row.

    validation_scores_ : list of float
        Score of the held-out rows after each epoch; only with ``early_stopping``.

    best_validation_score_ : float
        Best of ``validation_scores_``; only with ``early_stopping``.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has string column names.

    See Also
    --------
    VAEOutlierDetector : Anomaly detection by VAE log-likelihood.
    sklearn.ensemble.IsolationForest : The tree-based detector.

    Examples
    --------
    >>> import numpy as np
    >>> from skvae import AutoencoderOutlierDetector
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 5))
    >>> detector = AutoencoderOutlierDetector(contamination=0.05, random_state=0).fit(X)
    >>> detector.predict([[0, 0, 0, 0, 0], [9, -9, 9, -9, 9]])
    array([ 1, -1])
    """

    _parameter_constraints: dict = {
        **AutoencoderTransformer._parameter_constraints,
        **_OutlierDetectorMixin._detector_constraints,
    }

    def __init__(
        self,
        n_components=8,
        *,
        contamination="auto",
        hidden_layer_sizes=(128,),
        activation="relu",
        alpha=1e-4,
        batch_size="auto",
        learning_rate_init=2e-3,
        max_iter=10,
        tol=1e-4,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        shuffle=True,
        random_state=None,
        warm_start=False,
        verbose=0,
        device="cpu",
    ):
        super().__init__(
            n_components=n_components,
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate_init=learning_rate_init,
            max_iter=max_iter,
            tol=tol,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            shuffle=shuffle,
            random_state=random_state,
            warm_start=warm_start,
            verbose=verbose,
            device=device,
        )
        self.contamination = contamination

    def _squared_errors(self, X):
        return (self.decoder_(self.encoder_(X)) - X).square()

    def _fit_feature_scale(self, X):
        self.reconstruction_scale_ = None
        mean_errors = self._column_means(self._squared_errors, X)
        # Features every row reconstructs perfectly (constant columns) keep a
        # tiny positive scale, so a new value there still counts.
        self.reconstruction_scale_ = np.maximum(mean_errors, 1e-12)

    def _feature_terms(self, X):
        errors = self._squared_errors(X)
        # No scale yet while a first fit trains (early stopping scores the validation rows).
        scale = getattr(self, "reconstruction_scale_", None)
        if scale is None:
            return -errors
        return -errors / torch.as_tensor(scale, dtype=X.dtype, device=X.device)

    def _score_rows(self, X):
        return self._feature_terms(X).sum(dim=1)


class VAEOutlierDetector(_OutlierDetectorMixin, VAETransformer):
    """Anomaly detection by VAE log-likelihood.

    ``score_samples`` is the importance-weighted estimate of log p(x) of
    :class:`VAETransformer`: a density, in nats, whose learned per-feature
    variances already put every feature on its own scale. Low likelihood
    means anomaly. ``feature_contributions`` returns log p(x_j | z) for each
    feature j at the posterior mean z = mu(x): these terms add up to the
    reconstruction part of the score, log p(x | mu(x)).

    Parameters
    ----------
    n_components : int, default=12
        Number of latent variables. Generous on purpose: the KL term switches
        off the dimensions the data do not need.

    contamination : "auto" or float in (0, 0.5], default="auto"
        Share of outliers expected in the training data; sets ``offset_`` to
        that quantile of the training scores. "auto" uses Tukey's lower fence
        (first quartile minus 1.5 interquartile ranges) instead.

    hidden_layer_sizes : array-like of int, default=(128,)
        Widths of the encoder's hidden layers, from the input inwards; the decoder
        mirrors them.

    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
        Activation between layers.

    beta : float, default=1.0
        Weight of the KL term (beta-VAE); 1 gives the true ELBO.

    likelihood : {"gaussian", "gaussian_shared", "bernoulli"}, default="gaussian"
        The decoder's distribution p(x|z), as for :class:`VAETransformer`.

    kl_warmup_steps : int, default=0
        Optimizer steps over which the weight of the KL term rises from 0 to
        ``beta``; early stopping only starts counting after them.

    n_importance_samples : int, default=50
        Posterior samples per row in ``score_samples``; more samples give a
        tighter (less negatively biased) estimate of log p(x).

    alpha : float, default=1e-4
        Strength of the L2 penalty on the weights, scaled as in MLPRegressor.

    batch_size : int or "auto", default="auto"
        Rows per mini-batch; "auto" means ``min(200, n_samples)``.

    learning_rate_init : float, default=2e-3
        Adam's learning rate.

    max_iter : int, default=30
        Maximum number of epochs. Few on purpose: the training rows hold the
        anomalies too, and a model trained long learns to explain them as well.

    tol : float, default=1e-4
        Improvement of the training loss (or, with ``early_stopping``, of the
        validation score) below which an epoch counts as no improvement.

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows, stop when their score
        stops improving and restore the best weights.

    validation_fraction : float, default=0.1
        Share of the rows held out with ``early_stopping``.

    n_iter_no_change : int, default=10
        Epochs without improvement by ``tol`` after which training stops.

    shuffle : bool, default=True
        Whether to shuffle the rows before each epoch.

    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling, the validation split and the
        training noise. An int gives bit-identical refits on CPU; global RNGs
        are not touched.

    warm_start : bool, default=False
        Continue from the previous fit's weights instead of starting anew.

    verbose : int, default=0
        Print one line per epoch when positive.

    device : {"cpu", "cuda", "auto"}, default="cpu"
        Where to train and infer; "auto" takes a GPU when torch sees one.

    Attributes
    ----------
    offset_ : float
        Threshold on ``score_samples``: ``decision_function`` subtracts it.

    encoder_ : torch.nn.Module
        The trained encoder, returning the posterior mean and log-variance.

    decoder_ : torch.nn.Module
        The trained decoder network.

    likelihood_ : torch.nn.Module
        The observation model p(x|z), with its learned variance if Gaussian.

    n_iter_ : int
        Number of epochs run.

    loss_curve_ : list of float
        Mean training loss after each epoch: the negative ELBO per row.

    validation_scores_ : list of float
        Score of the held-out rows after each epoch; only with ``early_stopping``.

    best_validation_score_ : float
        Best of ``validation_scores_``; only with ``early_stopping``.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has string column names.

    See Also
    --------
    AutoencoderOutlierDetector : Anomaly detection by reconstruction error.

    Examples
    --------
    >>> import numpy as np
    >>> from skvae import VAEOutlierDetector
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 5))
    >>> detector = VAEOutlierDetector(contamination=0.05, random_state=0).fit(X)
    >>> detector.predict([[0, 0, 0, 0, 0], [9, -9, 9, -9, 9]])
    array([ 1, -1])
    """

    _parameter_constraints: dict = {
        **VAETransformer._parameter_constraints,
        **_OutlierDetectorMixin._detector_constraints,
    }

    def __init__(
        self,
        n_components=12,
        *,
        contamination="auto",
        hidden_layer_sizes=(128,),
        activation="relu",
        beta=1.0,
        likelihood="gaussian",
        kl_warmup_steps=0,
        n_importance_samples=50,
        alpha=1e-4,
        batch_size="auto",
        learning_rate_init=2e-3,
        max_iter=30,
        tol=1e-4,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        shuffle=True,
        random_state=None,
        warm_start=False,
        verbose=0,
        device="cpu",
    ):
        super().__init__(
            n_components=n_components,
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            beta=beta,
            likelihood=likelihood,
            kl_warmup_steps=kl_warmup_steps,
            n_importance_samples=n_importance_samples,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate_init=learning_rate_init,
            max_iter=max_iter,
            tol=tol,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            shuffle=shuffle,
            random_state=random_state,
            warm_start=warm_start,
            verbose=verbose,
            device=device,
        )
        self.contamination = contamination

    def _feature_terms(self, X):
        decoded = self.decoder_(self.encoder_(X)[0])
        return self.likelihood_.log_prob_per_feature(X, decoded)
