"""Anomaly detection by VAE log-likelihood."""

import math
from numbers import Integral

import torch
from sklearn.utils._param_validation import Interval, StrOptions

from ._bounds import gaussian_kl
from ._likelihoods import BernoulliLikelihood
from ._outlier import _OutlierDetectorMixin
from ._vae import VAETransformer

# n_components="auto": the square root of the inputs, within these bounds. Chosen on
# the development half of the shared ADBench sets against 12 and half the inputs,
# and confirmed on the other half (benchmarks page, "Anomaly detection").
_MIN_AUTO_COMPONENTS, _MAX_AUTO_COMPONENTS = 2, 12


class VAEOutlierDetector(_OutlierDetectorMixin, VAETransformer):
    """Anomaly detection by VAE log-likelihood.

    ``score_samples`` is the importance-weighted estimate of log p(x) of
    :class:`VAETransformer`: a density, in nats, in which each feature's
    residual counts in units of that feature's own spread. Low likelihood
    means anomaly. By default (``likelihood="student_t"``) the networks train
    with a Gaussian likelihood, and the scores use a Student-t of 6 degrees
    of freedom around the decoder's output, its scales fitted to the
    training rows' residuals: a Gaussian's variance would be set by the
    worst-fitted training rows -- often the anomalies themselves -- and
    widen the scale of the very features in which they are abnormal.
    ``feature_contributions(X, method="reconstruction")``
    returns log p(x_j | z) for each feature j at the posterior mean
    z = mu(x): these terms add up to the reconstruction part of the score,
    log p(x | mu(x)). The default ``method="robust"`` encodes the row again,
    robustly (the MAP code under a heavy-tailed version of the likelihood,
    so that features that contradict the others do not pull it), and
    returns for each feature j minus half its squared standardised residual
    (x_j - mean_j)^2 / s_j from the fit without feature j (to first order).
    The mean there is the decoder's, corrected for what it gets wrong on the
    training rows (a quadratic function of the code, fitted to their
    residuals), and s_j is that corrected residual's mean square on the
    training rows at their codes: the nats by which x_j falls short of a
    perfect fit under a Gaussian of that variance. Intact features mostly
    score between -0.5 and 0; these terms point at the broken features of a
    row rather than spreading the blame, but add up to no likelihood.

    Missing cells (NaN): the row is encoded from its observed cells and its
    score is the importance-weighted log-likelihood of those cells, the
    missing ones marginalised out exactly, plus, for each missing cell, its
    column's mean log-likelihood on the training rows
    (``column_log_likelihood_``). Without that term a row would look more
    normal for every cell it lacks (a density of fewer dimensions is
    higher); with it, rows with different numbers of observed cells are
    ranked on one scale (on average: see the user guide's "Missing values
    and mixed tables"). :meth:`VAETransformer.score_samples` keeps the
    log-likelihood of the observed cells alone. A cell holding a category
    not seen in fit is missing to the networks and adds log 1 / (n + 1)
    instead, n its column's observed cells in fit (``n_samples_seen_``): the
    probability of a new category after n draws, 9.2 nats below a certain
    cell after 10,000 rows.

    Training is robust to anomalies among the training rows: each optimizer
    step leaves out the rows of its batch whose loss (the negative ELBO at
    the posterior mean) lies more than 3 robust standard deviations (1.4826
    median absolute deviations; where more than half the batch shares about
    one loss, as duplicate rows do, the losses above it are fenced on their
    own) above the batch's median loss, so that the model does not learn to
    explain the anomalies it is meant to find (a trimmed loss; it holds
    while anomalies are a minority of the rows).

    Parameters
    ----------
    n_components : int or "auto", default="auto"
        Number of latent variables. "auto" takes the square root of the
        number of inputs, rounded, between 2 and 12 (3 for 9 columns, 6 for
        36, 12 from 133 on), and fewer than the inputs (1 for 1 or 2); with
        categorical columns, each category counts as an input.
        ``n_components_`` holds the number used.

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

    beta : float, default=1.0
        Weight of the KL term (beta-VAE); 1 gives the true ELBO.

    likelihood : {"student_t", "gaussian", "gaussian_shared", "bernoulli"}, default="student_t"
        The decoder's distribution p(x|z), as for :class:`VAETransformer`.
        "student_t" (6 degrees of freedom, a scale per feature fitted to the
        training residuals) keeps the few training rows that the model fits
        worst -- often the anomalies themselves -- from widening the scale of
        the features in which they are abnormal, as a Gaussian's variance
        would.

    kl_warmup_steps : int, default=0
        Optimizer steps over which the weight of the KL term rises from 0 to
        ``beta``; early stopping only starts counting after them.

    n_importance_samples : int, default=50
        Posterior samples per row in ``score_samples``; more samples give a
        tighter (less negatively biased) estimate of log p(x).

    alpha : float, default=1e-4
        Strength of the L2 penalty on the weights, scaled as in MLPRegressor.

    batch_size : int or "auto", default="auto"
        Rows per mini-batch; "auto" means ``min(200, n_samples)``. A larger
        int is clipped to ``n_samples``, with a warning (as in MLPRegressor).

    learning_rate_init : float, default=2e-3
        Adam's learning rate.

    max_iter : int or "auto", default="auto"
        Maximum number of epochs. "auto" allows as many as make about 1,000
        optimizer steps (29 epochs of 7,000 rows, 1,000 epochs of 100 rows),
        so that a fit of 10,000 rows takes a few seconds; on wide data at
        most 100,000 / n_columns steps, which keeps the fit's cost bounded.
        At least one epoch. The stopping rule (``tol``, ``n_iter_no_change``)
        may end training first: on a small table, whose epoch is one noisy
        step, it often does within a few dozen epochs (24 of 100 rows of 5
        features). ``n_iter_`` counts the epochs run. A training budget, not a
        limit on convergence: reaching it gives no ``ConvergenceWarning``.

    tol : float, default=1e-4
        Improvement of the training loss (or, with ``early_stopping``, of the
        validation score) below which an epoch counts as no improvement.

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows, stop when their ELBO
        stops improving and restore the best weights.

    validation_fraction : float, default=0.1
        Share of the rows held out with ``early_stopping``, rounded up.

    n_iter_no_change : int, default=10
        Training stops once more than this many consecutive epochs have not
        improved by ``tol`` (MLPRegressor's rule).

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
        A model unpickled, copied or loaded infers on the CPU until it
        trains again, and a new ``device`` takes effect at the next fit.

    categorical_features : "from_dtype", None, or array-like, default="from_dtype"
        Which columns of X are categorical: "from_dtype" takes the pandas
        (or polars) ``category`` and string columns, as
        HistGradientBoostingClassifier does; or their names, indices or a
        boolean mask; None reads every column as a number. Each categorical
        column enters the networks one-hot and is reconstructed by a softmax
        over its categories (a categorical likelihood). A category
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
        The number of latent variables: ``n_components``, or what "auto" chose.

    offset_ : float
        Threshold on ``score_samples``: ``decision_function`` subtracts it.

    column_log_likelihood_ : ndarray of shape (`n_features_in_`,)
        Mean log-likelihood log p(x_j | z) of each column over the training
        rows that observe it, at their posterior mean z: what a missing cell
        adds to a row's score.

    n_samples_seen_ : ndarray of shape (`n_features_in_`,)
        The number of training rows that observed each column (early
        stopping's validation rows, and labels the categories lack,
        included), over the last fit and the partial_fit calls since, as
        StandardScaler's array form: it sets what a category not seen in fit
        counts in a score.

    encoder_ : torch.nn.Module
        The trained encoder, returning the posterior mean and log-variance.

    decoder_ : torch.nn.Module
        The trained decoder network.

    likelihood_ : torch.nn.Module
        The observation model p(x|z): with the default Student-t likelihood,
        its scales fitted to the training rows; a Gaussian's variances.

    n_iter_ : int
        Number of epochs run.

    loss_curve_ : list of float
        Mean training loss after each epoch: the negative ELBO per row.

    validation_scores_ : list of float
        Score of the held-out rows after each epoch; only with ``early_stopping``.

    best_validation_score_ : float
        Best of ``validation_scores_`` after the KL warm-up, that of the
        weights kept (the last score if training ended within the warm-up);
        only with ``early_stopping``.

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
        "n_components": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
    }

    def __init__(
        self,
        n_components="auto",
        *,
        contamination="auto",
        robust_threshold=3.0,
        hidden_layer_sizes=(128,),
        activation="relu",
        network="mlp",
        network_params=None,
        input_shape=None,
        beta=1.0,
        likelihood="student_t",
        kl_warmup_steps=0,
        n_importance_samples=50,
        alpha=1e-4,
        batch_size="auto",
        learning_rate_init=2e-3,
        max_iter="auto",
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
            categorical_features=categorical_features,
            standardize=standardize,
        )
        self.contamination = contamination
        self.robust_threshold = robust_threshold

    def _resolved_n_components(self, n_features):
        if self.n_components != "auto":
            return self.n_components
        auto = min(_MAX_AUTO_COMPONENTS, max(_MIN_AUTO_COMPONENTS, round(math.sqrt(n_features))))
        # Narrower than the rows: a code as wide as them fits every row, and explains nothing.
        return max(1, min(auto, n_features - 1))

    def _loss(self, batch, generator, has_missing):
        if self.robust_threshold is not None:
            # Each row's negative ELBO at its posterior mean, to leave out the
            # rows the model fits worst (see _kept_rows) before the step.
            with torch.no_grad():
                x, observed = self._prepare_batch(batch, has_missing)
                mean, log_var = self.encoder_(x)
                kl = gaussian_kl(mean, log_var).sum(dim=1)
                row_losses = kl - self._log_px(x, self.decoder_(mean), observed, training=True)
            batch = batch[self._kept_rows(row_losses)]
        return super()._loss(batch, generator, has_missing)

    def _reconstruction_contributions(self, X):
        return self._column_log_likelihoods(X)[0]

    def _column_log_likelihoods(self, X):
        """log p(x_j | mu(x)) of each column (0 where missing), and the observed mask."""
        x, observed = self._prepare(X)
        return self._log_px_by_column(x, self._reconstruct(x), observed), observed

    def _fit_column_statistics(self, X):
        self.column_log_likelihood_ = self._column_means(self._column_log_likelihoods, X)

    def _score_rows(self, X):
        scores = super()._score_rows(X)
        observed = self._layout(X.device).prepare(X)[1]  # the mask alone: no refill
        # Models saved before column_log_likelihood_ existed score the observed cells alone.
        typical = getattr(self, "column_log_likelihood_", None)
        if observed is None or typical is None:
            return scores
        # Each missing cell counts as a typical one: log p(x_obs) alone rises with every
        # cell a row lacks, and would rank incomplete rows as more normal.
        typical = torch.as_tensor(typical, dtype=scores.dtype, device=scores.device)
        return scores + (~observed * typical).sum(dim=-1)

    def _category_surprise(self, cross_entropy):
        return 2.0 * cross_entropy

    def _count_new_categories(self, scores, coded, cells, term):
        # Read as missing, each such cell counted as a typical one (_score_rows): its own term instead.
        return scores + cells @ (term - self.column_log_likelihood_)

    # The robust fit's codes kept near the training rows' by a kernel density of them rather than
    # by N(0, I): it then goes less often to codes that no training row has and that fit the
    # broken features (3 of 12 sensors broken: precision 0.87 against 0.85; 5 of 12: 0.71 against
    # 0.65; seeds 0-9 of bench_explanations.py; ADBench "confirm" half +0.01 at each k). It costs
    # 256 kernels per code and step: 1,000 rows of 50 features take 2.4 CPU s against 1.5.
    _anchor_density_prior = True

    def _code_prior(self, anchors):
        """For feature_contributions(method="robust"): the N(0, I) prior, in units of twice the nats."""
        zeros = torch.zeros(self.n_components_, device=self._device(), dtype=torch.float32)
        return zeros, zeros + 1.0

    def _surprise(self, x, decoded, observed):
        """Twice each column's log-likelihood below a perfect fit's, under the likelihood the
        networks trained with; 0 where missing.

        For a numeric column, the squared standardised residual (x_j -
        mean_j)^2 / variance_j: with likelihood="student_t" too, whose
        scores use heavier tails but whose networks trained with this
        Gaussian (the robust re-encoding brings its own heavy-tailed loss).
        For a categorical column, twice the cross-entropy; for a Bernoulli
        one, twice the negative log-likelihood.
        """
        if isinstance(self.likelihood_, BernoulliLikelihood):
            return -2.0 * self._log_px_by_column(x, decoded, observed, training=True)
        layout = self._layout(x.device)
        # The residual itself, not a difference of log-densities: in float32 that cancels to
        # rounding noise where the variance is small, and would depend on X's units.
        residuals = layout.numeric_part(x) - self.likelihood_.mean(layout.numeric_part(decoded))
        numeric = residuals.square() / self.likelihood_.variance
        return layout.column_terms(numeric, observed, lambda: -2.0 * layout.categorical_log_probs(x, decoded))

    def _surprise_as_contributions(self, surprise):
        return -0.5 * surprise
