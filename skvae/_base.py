"""The estimator base shared by the autoencoder and the VAE.

It owns scikit-learn's plumbing -- parameters, validation, fitted attributes,
feature names, dtypes; a fit call is ``_fitting``'s, which hands optimisation
to ``_training.train``.
Subclasses say what the networks are and what loss and score they have.
"""

from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._architectures import BUILT_IN
from ._callbacks import CallbackSupportMixin
from ._column_layout import refill_missing
from ._column_statistics import rows_without_observed
from ._fitted_networks import FittedNetworksMixin
from ._fitting import FittingMixin
from ._state import PlainStateMixin
from ._table import TableEncoder
from ._tensors import check_code_array, conv_chunk_rows, map_rows, nan_where_missing
from ._training import epochs_for_steps

# The constraint of max_iter in the estimators that accept "auto" (see _max_epochs).
MAX_ITER_OR_AUTO = [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")]

# Rows per chunk of the passes over the training rows that fit makes after
# training (_column_means: the VAE's variances, the detectors' error scales and
# column log-likelihoods, the explanations' divisors).
_MEAN_CHUNK_ROWS = 1024


class BaseAutoencoder(
    FittingMixin,
    FittedNetworksMixin,
    PlainStateMixin,
    CallbackSupportMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    BaseEstimator,
):
    """Shared machinery of :class:`AutoencoderTransformer` and :class:`VAETransformer`."""

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions({"identity", "logistic", "tanh", "relu"})],
        "network": [StrOptions(set(BUILT_IN)), callable],
        "network_params": [dict, None],
        "input_shape": ["array-like", None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "device": [StrOptions({"cpu", "cuda", "auto"})],
        "categorical_features": [StrOptions({"from_dtype"}), "array-like", None],
        "standardize": [StrOptions({"auto"}), "boolean"],
    }
    # The parameters (besides the sizes) that _build_networks reads.
    _architecture_params = ("n_components", "activation", "network", "network_params", "input_shape")
    # Whether the encoder returns a posterior (mean, log-variance) rather than a code.
    _variational = False
    # Whether reaching max_iter before the tol rule stops training warns, as in MLPRegressor.
    _warns_unconverged = True
    # Whether a column with no observed cell in fit is kept (missing to the networks) or refused.
    _allows_empty_columns = False
    # What the error refusing rows with no observed cell tells the user to do.
    _empty_rows_advice = "Drop them, or impute them first (e.g. VAEImputer)."

    def __init__(
        self,
        n_components=2,
        *,
        hidden_layer_sizes=(128,),
        activation="relu",
        network="mlp",
        network_params=None,
        input_shape=None,
        alpha=1e-4,
        batch_size="auto",
        learning_rate_init=2e-3,
        max_iter=200,
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
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.network = network
        self.network_params = network_params
        self.input_shape = input_shape
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.tol = tol
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.shuffle = shuffle
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.device = device
        self.categorical_features = categorical_features
        self.standardize = standardize

    # -- what subclasses provide -------------------------------------------

    def _build_networks(self, n_features, hidden_layer_sizes, generator, n_numeric=None):
        """The torch modules to fit, as a dict: "encoder" becomes ``encoder_``, etc.

        The networks read ``n_features`` inputs, ``n_numeric`` of them (all by
        default) numeric columns and the others one-hot categories.
        """
        raise NotImplementedError

    def _loss(self, batch, generator, has_missing):
        """Mean training loss of a batch (a scalar tensor); ``has_missing`` if X has NaN cells."""
        raise NotImplementedError

    def _decode(self, Z):
        """The decoder's means at codes Z (a categorical block as its probabilities)."""
        raise NotImplementedError

    def _encoder_mean(self, x):
        """The code of prepared rows x: the encoder's output (a VAE's posterior mean)."""
        raise NotImplementedError

    def _score_rows(self, X):
        """Per-row score, higher meaning more normal."""
        raise NotImplementedError

    def _validation_score(self, X):
        """The score of held-out rows X that early stopping monitors (a 0-d tensor)."""
        raise NotImplementedError

    def _check_input_range(self, X, training=False):
        """Hook for likelihoods that only accept some values: those of the fitted model, or with
        ``training`` (X is to train on) those the parameters describe, which fit builds."""

    def _resolved_n_components(self, n_features):
        """The code size of networks with ``n_features`` inputs (a detector may resolve "auto")."""
        return self.n_components

    def _auto_steps(self, n_features):
        """The optimizer steps ``max_iter="auto"`` stands for, where an estimator accepts it."""
        raise NotImplementedError

    def _max_epochs(self, n_samples, n_features, batch_size):
        """The epochs a fit runs on ``n_samples`` training rows.

        ``max_iter``; or, for ``max_iter="auto"`` (where an estimator accepts
        it), as many whole epochs as make ``_auto_steps`` optimizer steps.
        """
        if self.max_iter == "auto":
            return epochs_for_steps(self._auto_steps(n_features), n_samples, batch_size)
        return self.max_iter

    def _warmup_steps(self):
        """Optimizer steps during which the loss itself changes (no early stopping then)."""
        return 0

    def _weight_average_decay(self):
        """Hook: a fit ends with a moving average of the weights of this decay (see
        ``_training.WeightAverage``), or with the last step's weights (None)."""
        return None

    def _after_fit(self, X):
        """Hook run on the validated training rows once the networks are trained (for
        partial_fit, on the sample of every chunk so far: see ``_stream_sample``)."""

    def _note_training_size(self, n_samples, incremental):
        """Hook run before training with the number of this call's training rows."""

    def _note_training_rows(self, X, X_user, incremental):
        """Hook run on every call's training rows, all of them, once the networks are trained
        (``X`` coded, ``X_user`` as the user gave them)."""

    def _adjusted_scores(self, scores, X_user, coded):
        """Hook: the scores of the coded rows, given X as the user gave it, for terms the networks
        do not see (a detector's categories not seen in fit: ``_new_categories``)."""
        return scores

    def _unseen_category_note(self, column):
        """Hook: what the warning about categories not seen in fit adds for a column of rows to
        score (a detector counts them: ``_new_categories``)."""
        return ""

    def _patience(self, steps_per_epoch):
        """Epochs without improvement after which training stops."""
        return self.n_iter_no_change

    # -- fitting -------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the networks on X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. Sparse X (CSR or CSC) stays sparse: its rows are
            densified one mini-batch at a time. An implicit zero is an
            observed zero, a stored NaN a missing cell.

        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._validate_and_fit(X, y, incremental=False, keep_weights=self._warm_starts())

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train for one pass over the rows of X, keeping the optimizer's state.

        The first call initialises the networks and learns X's columns (the
        categories of categorical columns, the centring and scale of
        standardised ones); later calls continue from them, so that data can
        be streamed in chunks: give the first call rows that stand for the
        data. What fit computes from the training rows after training (a
        VAE's variances, a detector's ``offset_`` and scales) comes from an
        even sample of the rows of all the calls (up to 10,000 rows, held in
        memory: neither pickled nor saved), once it holds as many rows as the
        calibration it replaces, or 1,000: a single-row call after ``fit``
        keeps fit's calibration. Until
        then a detector's ``offset_`` (and so the share of rows ``predict``
        flags) stays fit's while the weights move on: after ``fit``, stream
        at least 1,000 rows, or as many as fit had, before relying on it.
        ``partial_fit`` holds out no rows, whatever ``early_stopping`` says,
        and removes ``validation_scores_`` and ``best_validation_score_``:
        they scored weights it has moved on from.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            One chunk of training data.

        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            The estimator, trained on one more chunk.
        """
        first_call = not hasattr(self, "encoder_")
        return self._validate_and_fit(X, y, incremental=True, keep_weights=not first_call)

    def _validate_X(self, X, *, reset, training=False):
        """Validate X and code it for the networks (see ``_table``): floats, NaN where missing.

        ``reset`` learns the columns anew (fit); otherwise X must have the
        columns the estimator was fitted on. ``training``: X is to train on.
        """
        if reset:
            # Kept only once X is accepted: a half-learnt table (fit raised) could not be pickled.
            table = TableEncoder(
                self.categorical_features, self._standardize(), allow_empty=self._allows_empty_columns
            )
            coded = table.fit_encode(self, X)
            self._table = table
            return coded
        coded = self._table.encode(self, X, training=training)
        if training:
            # A continued fit's rows may vary a column constant so far (a new table: a call that
            # fails gives the old one back).
            self._table = self._table.still_constant(self, coded)
        return coded

    def _standardize(self):
        """The ``standardize`` the columns get (subclasses may refuse some)."""
        return self.standardize

    def _layout(self, device):
        return self._table.layout(device)

    def _prepare(self, X):
        """The networks' input (missing cells filled) and the observed mask (None if complete).

        A missing cell enters at the training mean, as the networks trained
        on it. Networks that never trained on a missing cell (fitted on
        complete rows) read it then at their reconstruction of it from the
        row so filled (``refill_missing``): such an encoder has never seen a
        cell at the mean beside cells that say otherwise, and places the row
        far from where it belongs.
        """
        x, observed = self._layout(X.device).prepare(X)
        if observed is None or not getattr(self, "_refills_missing", False):
            return x, observed
        return refill_missing(x, torch.isnan(X), self._encoder_mean, self._decode), observed

    def _prepare_batch(self, batch, has_missing):
        """``_prepare`` of a training batch, missing cells at the training mean (no refill: the
        networks learn from such rows). A fit whose X has no NaN (``has_missing`` False) passes
        its batches on as they are: the look for NaN waits on the device."""
        return self._layout(batch.device).prepare(batch) if has_missing else (batch, None)

    def _check_training_rows(self, X):
        """Hook: refuse training rows the estimator cannot learn from."""
        self._check_rows_observed(X, training=True)

    def _check_rows_observed(self, X, training=False):
        """Refuse rows with no observed cell: there is nothing to score or learn in them."""
        empty = rows_without_observed(X)
        if empty.size:
            shown = ", ".join(map(str, empty[:10])) + (", ..." if empty.size > 10 else "")
            # To the networks a category not seen in fit is missing too, which the user may not expect.
            note = (
                "; categories not seen in fit count as missing"
                if self._table.categorical and not training
                else ""
            )
            raise ValueError(
                f"X has {empty.size} row(s) with no observed value (rows {shown}{note}): there is "
                f"nothing to learn from or score in them. {self._empty_rows_advice}"
            )

    # -- using a fitted model ------------------------------------------------

    def _encode(self, X):
        """The code of rows X (coded, NaN where missing)."""
        return self._encoder_mean(self._prepare(X)[0])

    def _reconstruct(self, x):
        """The decoder's output (before any softmax) at the code of prepared rows x."""
        return self.decoder_(self._encoder_mean(x))

    def _validated_rows(self, X):
        """X coded for the fitted model, once it has checked that it can score every row of it."""
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        self._check_input_range(X)
        self._check_rows_observed(X)
        return X

    def _map_rows(self, fn, X, allow_nan=False, chunk_rows=None):
        # A model pickled before the network parameter existed is an MLP.
        if chunk_rows is None and getattr(self, "network", "mlp") == "conv":
            # Its activations are the size of the images, whether X holds rows or codes.
            chunk_rows = conv_chunk_rows(self._table.width, max(self._hidden_layer_sizes()))
        return map_rows(fn, X, self._device(), X.dtype, chunk_rows=chunk_rows, allow_nan=allow_nan)

    def _column_means(self, fn, X, return_counts=False):
        """Mean over the rows of X of ``fn``'s per-row values, in float64, over the observed cells only.

        ``fn`` maps coded rows to their values and the mask of the observed
        ones (None when all are). Summed chunk by chunk: X may be a memory
        map larger than memory. The chunks are small because fit runs this,
        and fit should peak at the training batches' memory, not at an
        inference chunk's. With ``return_counts``, also each column's number
        of observed cells.
        """

        def values_or_nan(rows):
            return nan_where_missing(*fn(rows))

        sums = counts = 0
        for start in range(0, X.shape[0], _MEAN_CHUNK_ROWS):
            values = self._map_rows(values_or_nan, X[start : start + _MEAN_CHUNK_ROWS], allow_nan=True)
            sums = sums + np.nansum(values, axis=0, dtype=np.float64)
            counts = counts + (~np.isnan(values)).sum(axis=0)
        means = sums / np.maximum(counts, 1)
        return (means, counts) if return_counts else means

    def transform(self, X):
        """Encode X into its low-dimensional code.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            The code of each row, in the dtype of X.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return self._map_rows(self._encode, X)

    def inverse_transform(self, X):
        """Decode codes back into the input space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Codes, as returned by :meth:`transform`.

        Returns
        -------
        X_original : ndarray or DataFrame of shape (n_samples, n_features)
            The reconstruction (the decoder's mean) of each code. With
            categorical columns, a pandas DataFrame with the column names of
            fit's X and the index of the codes (when they are a pandas
            DataFrame), each categorical cell its most probable category (a
            pandas ``category`` column, a polars ``Categorical`` or
            ``Enum``, or a pyarrow dictionary, as ``category``, with its
            fitted categories; a string column in its string dtype; other
            categorical columns as pandas makes their labels), numeric
            columns as floats.
        """
        check_is_fitted(self)
        index = X.index if isinstance(X, pd.DataFrame) else None
        X = check_code_array(X, self.n_components_, self)
        return self._table.decode(self, self._map_rows(self._decode, X), as_frame=True, index=index)

    def score_samples(self, X):
        """Score each row; higher means more typical of the training data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            The score of each row (see the class's description).
        """
        coded = self._validated_rows(X)
        return self._adjusted_scores(self._map_rows(self._score_rows, coded), X, coded)

    def score(self, X, y=None):
        """Mean of :meth:`score_samples` over X, so that model selection works unsupervised.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to score.

        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        score : float
            The average score per row.
        """
        return float(np.mean(self.score_samples(X), dtype=np.float64))

    @property
    def _n_features_out(self):
        return self.n_components_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.allow_nan = True
        # Sparse X holds numbers only, and would be made dense by centring.
        named = self.categorical_features
        names_categorical_columns = not (named is None or isinstance(named, str) or len(named) == 0)
        tags.input_tags.sparse = self.standardize is not True and not names_categorical_columns
        return tags
