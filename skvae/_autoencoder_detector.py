"""Anomaly detection by autoencoder reconstruction error."""

from functools import partial

import numpy as np
import torch

from ._autoencoder import AutoencoderTransformer
from ._outlier import _OutlierDetectorMixin

# How strongly feature_contributions(method="robust") keeps codes near the training codes (a
# Gaussian fitted to them, in units of the surprise): 0.3 was best of 0, 0.1, 0.3 and 1 on the
# sensors and the "choose" ADBench sets, by 0.01 to 0.02 of precision.
_PRIOR_WEIGHT = 0.3


class AutoencoderOutlierDetector(_OutlierDetectorMixin, AutoencoderTransformer):
    """Anomaly detection by autoencoder reconstruction error.

    Rows the autoencoder reconstructs badly are anomalies. Each feature's
    squared error (cross-entropy for a categorical column) is divided by
    that feature's mean error on the training rows, so that features which
    are hard to reconstruct for every row do not drown the others:
    ``score_samples`` is minus the sum of these normalised errors, and
    ``feature_contributions(X, method="reconstruction")`` returns the terms
    of that sum (for complete rows they add up to ``score_samples``, to
    float rounding).
    The default ``method="robust"`` returns the same kind of term, minus a
    normalised squared error, from a reconstruction that leaves the feature
    out: the row is encoded again, robustly, so that the features that
    contradict the others do not pull its code, and each feature's error is
    taken from the fit without it (to first order). The reconstruction
    there is the decoder's, corrected for what it gets wrong on the
    training rows (a quadratic function of the code, fitted to their
    residuals: the detector trains as long as detection needs, not as long
    as reconstruction would), and each error is divided by its mean on the
    training rows under that correction. Intact numeric features mostly
    score between -1 and 0; these terms point at the broken features of a row
    rather than spreading the blame, but do not add up to ``score_samples``.

    Missing cells (NaN) add nothing: the row is encoded from its observed
    cells, and its score is the mean normalised error over the observed
    cells times the number of features, so that a score does not shrink
    merely because it sums fewer terms. A row missing many cells may still
    score higher (on independent features the few cells it has are easier
    to reconstruct) or lower: rank rows with similar numbers of observed
    cells against each other. A missing cell's contribution is 0. A cell
    holding a category not seen in fit is missing to the networks and counts
    as an observed cell of cross-entropy log(n + 1), n its column's observed
    cells in fit (``n_samples_seen_``; a new category's probability after n
    draws is 1 / (n + 1)), in units of the column's mean training error.

    Training is robust to anomalies among the training rows: each optimizer
    step leaves out the rows of its batch whose squared reconstruction error
    lies more than 3 robust standard deviations (1.4826 median absolute
    deviations; where more than half the batch shares about one error, as
    duplicate rows do, the errors above it are fenced on their own) above
    the batch's median, so that the autoencoder does not learn to
    reconstruct the anomalies it is meant to find (a trimmed loss; it holds
    while anomalies are a minority of the rows).

    Parameters
    ----------
    n_components : int, default=8
        Size of the code (the bottleneck). Used as given, also on tables of
        8 features or fewer, where the code is as wide as a row: narrowing it
        below the number of features gained on some benchmark data sets and
        lost on others (the benchmarks page, "The autoencoder's code
        width"), so on a narrow table it is yours to choose.

    contamination : "auto" or float in (0, 0.5], default="auto"
        Share of outliers expected in the training data; sets ``offset_`` to
        that quantile of the training scores. "auto" uses Tukey's lower fence
        (first quartile minus 1.5 interquartile ranges) instead. On a
        table of over ``2**21`` cells (e.g. 7,000 rows of 300 columns; a
        categorical column counts one cell per category, as the networks
        read it), the quantile is over evenly spaced training rows, at
        least 1,000 of them, and the share flagged is about ``contamination``.

    robust_threshold : float or None, default=3.0
        Robust training: each optimizer step leaves out the rows of its batch
        whose loss lies more than ``robust_threshold`` robust standard
        deviations above the batch's median loss, so that anomalies among the
        training rows do not teach the model to fit them; never more than
        30% of a batch (the rows fitted worst), beyond which the rows left
        out would be no minority of anomalies but data still to learn. A
        distinct group of normal rows the networks fit worst at first (a
        cluster of a fifth of the rows, say) can still be left out as
        anomalies would be, and then scores as abnormal: where the normal
        rows hold such groups, None trains on every row.

    hidden_layer_sizes : array-like of int, default=(128,)
        Widths of the encoder's hidden layers, from the input inwards; the
        decoder mirrors them.

    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
        Activation between layers.

    network : {"mlp", "conv"} or callable, default="mlp"
        The encoder and decoder. "mlp": multilayer perceptrons with
        ``hidden_layer_sizes`` units per layer. "conv": convolutions over
        each row viewed as an image or series of ``input_shape``, with
        ``hidden_layer_sizes`` channels in its stride-2 blocks. A callable (a
        function or class defined at module level) builds your own:
        ``network(n_features=..., n_components=..., input_shape=...,
        **network_params)`` returns ``(encoder, decoder)`` torch modules
        (see :ref:`networks`). Each fit builds fresh networks.

    network_params : dict, default=None
        Keyword arguments of a callable ``network``.

    input_shape : tuple of int, default=None
        One row's shape as the networks see it: (channels, length) or
        (channels, height, width), whose product is the number of features;
        one size may be -1, worked out from the number of features, as in
        numpy's reshape (``(1, -1)``: one series per row, of any length).
        ``network="conv"`` needs it; a callable ``network`` receives it.

    alpha : float, default=1e-4
        Strength of the L2 penalty on the weights, scaled as in MLPRegressor.

    batch_size : int or "auto", default="auto"
        Rows per mini-batch; "auto" means ``min(200, n_samples)``. A larger
        int is clipped to ``n_samples``, with a warning (as in MLPRegressor).

    learning_rate_init : float, default=2e-3
        Adam's learning rate.

    max_iter : int or "auto", default=10
        Maximum number of epochs. Few on purpose: the training rows hold the
        anomalies too, and an autoencoder trained long learns to reconstruct
        them as well. "auto" runs as many as make about 1,000 optimizer steps
        (fewer on wide data), as :class:`VAEOutlierDetector` does. A training
        budget, not a limit on convergence: reaching it gives no
        ``ConvergenceWarning``.

    tol : float, default=1e-4
        Improvement of the training loss (or, with ``early_stopping``, of the
        validation score) below which an epoch counts as no improvement.

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows, stop when their score
        stops improving and restore the best weights.

    validation_fraction : float, default=0.1
        Share of the rows held out with ``early_stopping``, rounded up.

    n_iter_no_change : int, default=10
        Training stops once more than this many consecutive epochs have not
        improved by ``tol`` (MLPRegressor's rule).

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
        A model unpickled, copied or loaded infers on the CPU until it
        trains again, and a new ``device`` takes effect at the next fit.

    categorical_features : "from_dtype", None, or array-like, default="from_dtype"
        Which columns of X are categorical: "from_dtype" takes the pandas
        (or polars) ``category`` and string columns, as
        HistGradientBoostingClassifier does; or their names, indices or a
        boolean mask; None reads every column as a number. Each categorical
        column enters the networks one-hot and is reconstructed by a softmax
        over its categories (cross-entropy for the autoencoder). A category
        not seen in fit is missing to the networks and counts in the score
        as a category of probability 1 / (n + 1), n the column's observed
        cells in fit: evidence that the row is unusual; with a UserWarning
        (see the user guide's "Missing values and mixed tables").

    standardize : "auto" or bool, default="auto"
        Standardise the numeric columns internally (mean 0, variance 1 over
        their observed cells), so that columns of any scale learn alike;
        outputs are in X's own units. "auto" standardises when X has
        categorical columns, and otherwise reads X as it is (uncentred, as
        MLPRegressor does, and in float32), warning where the columns'
        typical scale is far from 1, a column's standard deviation is above
        100, or a column varies by less than 1/10,000 of its size: put a
        StandardScaler in front.

    Attributes
    ----------
    n_components_ : int
        The number of latent variables, ``n_components``.

    offset_ : float
        Threshold on ``score_samples``: ``decision_function`` subtracts it.

    reconstruction_scale_ : ndarray of shape (`n_features_in_`,)
        Mean squared reconstruction error of each feature on the training
        rows, in the units the networks see (standardised when
        ``standardize`` says so; for a categorical column, its cross-entropy).

    n_samples_seen_ : ndarray of shape (`n_features_in_`,)
        The number of training rows that observed each column (early
        stopping's validation rows, and labels the categories lack,
        included), over the last fit and the partial_fit calls since, as
        StandardScaler's array form: it sets what a category not seen in fit
        counts in a score.

    encoder_ : torch.nn.Module
        The trained encoder, from the coded columns (one input per category
        of a categorical column) to ``n_components``.

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
        robust_threshold=3.0,
        hidden_layer_sizes=(128,),
        activation="relu",
        network="mlp",
        network_params=None,
        input_shape=None,
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
        categorical_features="from_dtype",
        standardize="auto",
    ):
        super().__init__(
            n_components=n_components,
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            network=network,
            network_params=network_params,
            input_shape=input_shape,
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
            categorical_features=categorical_features,
            standardize=standardize,
        )
        self.contamination = contamination
        self.robust_threshold = robust_threshold

    def _loss(self, batch, generator, has_missing):
        if self.robust_threshold is None:
            return super()._loss(batch, generator, has_missing)
        x, observed = self._prepare_batch(batch, has_missing)
        row_errors = self._row_errors(x, observed)
        # The rows reconstructed worst are left out of the step (see _kept_rows).
        return row_errors[self._kept_rows(row_errors)].mean()

    def _reconstruction_errors(self, X):
        """Each column's reconstruction error at the encoder's code (0 where missing), and the
        observed mask."""
        x, observed = self._prepare(X)
        return self._column_errors(x, self._reconstruct(x), observed), observed

    def _fit_column_statistics(self, X):
        mean_errors = self._column_means(self._reconstruction_errors, X)
        # Features every row reconstructs perfectly (constant columns) keep a
        # tiny positive scale, so a new value there still counts.
        self.reconstruction_scale_ = np.maximum(mean_errors, 1e-12)

    def _reconstruction_contributions(self, X):
        return self._negative_normalised_errors(X)[0]

    def _negative_normalised_errors(self, X):
        """Minus each column's normalised error at the encoder's code (0 where missing), and the mask."""
        x, observed = self._prepare(X)
        decoded = self._reconstruct(x)
        # No scale before the first calibration (a callback may score the model mid-fit).
        if getattr(self, "reconstruction_scale_", None) is None:
            return -self._column_errors(x, decoded, observed), observed
        return -self._surprise(x, decoded, observed), observed

    def _score_rows(self, X):
        terms, observed = self._negative_normalised_errors(X)
        if observed is None:
            return terms.sum(dim=1)
        # The mean term over the observed cells, times the number of
        # columns: a score does not shrink merely because it sums fewer terms.
        n_observed = observed.sum(dim=1, dtype=terms.dtype)
        return terms.sum(dim=1) * (terms.shape[1] / n_observed)

    def _category_surprise(self, cross_entropy):
        return cross_entropy / self.reconstruction_scale_

    def _count_new_categories(self, scores, coded, cells, term):
        # _score_rows' mean term over the observed cells, those cells now among them.
        n_observed = (~np.isnan(coded[:, self._table.starts])).sum(axis=1)
        n_columns = cells.shape[1]
        total = scores * n_observed / n_columns + cells @ term
        return total * n_columns / (n_observed + cells.sum(axis=1))

    def score(self, X, y=None):
        """Return minus the mean reconstruction error per row, as :meth:`AutoencoderTransformer.score`.

        Not the mean of :meth:`score_samples`: those are in units of the
        model's own training errors, so every model scores
        ``-n_features_in_`` on its training rows, and one barely trained
        scores as well on new rows as one trained well. The raw error lets
        model selection (``GridSearchCV``, ``cross_val_score``) prefer the
        model that reconstructs held-out rows best.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to score.

        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        score : float
            Minus the mean over rows of the sum of a row's squared errors
            (categorical columns: cross-entropies) over its observed cells,
            numbers in X's own units whatever ``standardize`` does, so that
            models of the same rows compare. A category not seen in fit is a
            missing cell here: no model reconstructs it (``score_samples``
            counts it as new).
        """
        X = self._validated_rows(X)
        # The transformer's score, of the raw errors. Early stopping compares raw errors too, in the
        # networks' units (AutoencoderTransformer._validation_score): this class's scaled score is in
        # units of each model's own training errors, which a warm-started fit could never beat.
        raw_scores = partial(AutoencoderTransformer._score_rows, self)
        return float(np.mean(self._map_rows(raw_scores, X), dtype=np.float64))

    def _code_prior(self, anchors):
        """For feature_contributions(method="robust"): a Gaussian fitted to the training codes."""
        if anchors is None or len(anchors) < 2:
            return None
        variance = anchors.var(dim=0)
        # A floor relative to the widest dimension: codes of unscaled data may all be tiny.
        return anchors.mean(dim=0), _PRIOR_WEIGHT / variance.clamp(min=1e-4 * float(variance.max()) or 1e-4)

    def _surprise(self, x, decoded, observed):
        """Each column's error in units of its mean training error; 0 where missing."""
        scale = torch.as_tensor(self.reconstruction_scale_, dtype=x.dtype, device=x.device)
        return self._column_errors(x, decoded, observed) / scale

    def _surprise_as_contributions(self, surprise):
        return -surprise
