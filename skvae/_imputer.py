"""Imputation of missing cells by a VAE trained on the incomplete table (MIWAE)."""

import math
from numbers import Integral

import numpy as np
import pandas as pd
import torch
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import Interval, MissingValues, StrOptions
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from ._base import MAX_ITER_OR_AUTO
from ._cell_validation import hold_out_cells, prediction_error
from ._conditional import SCORE_SEED, impute_rows, quasi_random_normal
from ._missing_values import as_nan, fitted_indicator, is_nan_placeholder, missing_as_nan
from ._polars_output import as_polars
from ._table_input import column_names
from ._vae import VAETransformer
from ._warnings import warn

# Optimizer steps that max_iter="auto" trains for: 50 epochs of 10,000 rows, where the
# error on Adult (HI-VAE masks) was that of 100 epochs in half the time, and many epochs
# of a small table, where early stopping ends the fit first (bench_impute.py).
_STEP_BUDGET = 2500
# n_iter_no_change="auto" with early stopping: at least this many optimizer steps, and 10
# epochs, without improvement. An epoch of a small table is one or two steps, and the held-out
# cells' error rises and falls from one to the next. On iris, diabetes, vowels, Ionosphere and
# letter 10 epochs did worst and 300 steps as well as 100 or better (vowels much better); on
# wine, Stamps and cardio 300 did better on the whole (benchmarks/bench_impute_numeric.py).
_PATIENCE_STEPS = 300
# A fit without early stopping ends with a moving average of the weights over the optimizer
# steps, with a time constant of about 67 steps (_training.WeightAverage): breast_cancer stops
# after about 600 steps still moving from batch to batch, and the average of the last ones
# imputes better than the last. MIWAE protocol, seeds 3-5, with the two-round draws: 0.2847
# against 0.2884 without the average. The decay was chosen on an average that ran from the first
# step (no average 0.2905): 0.98 0.2866, 0.99 0.2868, 0.995 0.2926, 0.998 0.3144 -- averaging
# over too many steps reaches back to weights still learning.
_WEIGHT_AVERAGE_DECAY = 0.985
# Posterior draws per row and training step: the networks train on the importance-weighted
# bound of this many draws, as MIWAE does (with 20). On the choosing masks (bench_impute.py
# --masks 3 4 5), 5 against 1 (the ELBO): breast_cancer 0.274 against 0.285, wine 0.064 / 0.076
# against 0.066 / 0.078, adult 0.200 / 0.228 against 0.204 / 0.230, breast 0.100 / 0.106 against
# 0.100 / 0.104 (an earlier version, scoring the draws at the running variance: 3 draws 0.280 and
# 20 draws 0.272 on breast_cancer). Adult's fit + transform: 25 CPU s against 17.
_TRAINING_SAMPLES = 5
# n_importance_samples="auto": as many draws per row as make this many row-draws for the training
# rows, within these bounds. More draws estimate the conditional means more closely, and a small
# table can afford them (choosing masks, 300 against 1,500 draws: breast 0.100 / 0.106 against
# 0.099 / 0.104, breast_cancer 0.274 against 0.270); 300 keeps adult (10,000 rows) within 30 s.
_AUTO_ROW_DRAWS = 1_000_000
_MIN_AUTO_DRAWS = 300
_MAX_AUTO_DRAWS = 3000
# ... and no more than this many draw-inputs a row (draws times the networks' inputs): a table of
# up to 100 inputs may take the 3,000 draws, a wider one fewer (still 300). Every draw is decoded
# to all the inputs, in blocks of at least 64 rows: 3,000 draws of a 5,000-column table held 3.8
# GB for a block and took 50 s to impute one row; 300 draws take 2 s.
_AUTO_DRAW_INPUTS = 300_000


class VAEImputer(VAETransformer):
    """Impute missing values with a variational autoencoder of the whole table.

    The VAE is trained on the incomplete table itself: its likelihood counts
    the observed cells only, so no cell needs to be filled first, and its
    networks train on the importance-weighted bound of five posterior draws
    per row rather than on the ELBO (MIWAE, Mattei & Frellsen, 2019). A
    missing numeric cell gets its conditional mean E[x_miss | x_obs],
    estimated by self-normalised importance sampling over
    ``n_importance_samples`` draws from the posterior; a missing categorical
    cell gets its most probable category under the same weights. Observed
    cells pass through unchanged. Numeric and categorical columns (pandas
    ``category`` or string dtype) can be mixed, and the numeric columns are
    standardised internally.

    Parameters
    ----------
    missing_values : int, float, str, np.nan, pd.NA or None, default=np.nan
        The placeholder for the missing values; all its occurrences are
        imputed. NaN and ``pd.NA`` both mean the cells that are missing
        already (NaN, None, pandas' NA, polars' null). With any other
        placeholder, X must hold no NaN (nor None or pandas' NA), as for
        scikit-learn's imputers.

    n_components : int, default=10
        Number of latent variables.

    hidden_layer_sizes : array-like of int, default=(128, 128)
        Widths of the encoder's hidden layers, from the input inwards; the
        decoder mirrors them.

    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
        Activation between layers.

    network : {"mlp", "conv"} or callable, default="mlp"
        The encoder and decoder, as for :class:`VAETransformer`: multilayer
        perceptrons, convolutions over each row viewed as an image or series
        of ``input_shape``, or your own (see :ref:`networks`).

    network_params : dict, default=None
        Keyword arguments of a callable ``network``.

    input_shape : tuple of int, default=None
        One row's shape as the networks see it, for ``network="conv"`` or a
        callable ``network``; as for :class:`VAETransformer`.

    beta : float, default=1.0
        Weight of the KL term.

    likelihood : {"gaussian", "gaussian_shared", "student_t", "bernoulli"}, default="gaussian_shared"
        Distribution of the numeric columns, as for :class:`VAETransformer`.
        The default shares one variance between the (standardised) numeric
        columns, so that training weighs every column's errors alike, as
        imputation error is counted; a variance per column ("gaussian")
        lets the network neglect the columns it finds hard to predict.
        "student_t" trains as "gaussian" and computes the conditional means
        under a Student-t of fitted scales.

    kl_warmup_steps : int, default=0
        Optimizer steps over which the KL weight rises from 0 to ``beta``.
        Early stopping only starts counting after the warm-up.

    n_importance_samples : int or "auto", default="auto"
        Posterior draws per row for the conditional mean (and for
        ``score_samples``). "auto" draws as many as make about a million
        row-draws for the rows of fit (or of the first ``partial_fit``
        call), between 300 and 3,000: 300 from 3,333 rows on, 1,430 for 699;
        on a table of over 100 network inputs (numeric columns and
        categories) at most 300,000 draw-inputs, so that the draws' decoded
        rows stay in memory (300 draws from 1,000 inputs on). Imputing
        holds about 64 x draws x inputs floats at a time: an integer set on
        a very wide table costs memory in proportion.
        Imputing takes time in proportion, and more draws bring the
        estimate closer to the conditional mean: fitted on a few hundred
        rows to impute millions, set an integer such as 300. The draws are
        quasi-random (scrambled Sobol points), which estimates the
        conditional mean more closely than as many random draws. For
        imputing they come in two rounds: half from the encoder's
        posterior, half from a Gaussian fitted to the first half's weighted
        draws, which finds the posterior of a row the encoder places poorly.

    sample_posterior : bool, default=False
        Instead of the conditional mean, impute one draw from the
        conditional distribution p(x_miss | x_obs) (sampling importance
        resampling): successive calls of ``transform`` give successive
        draws, for multiple imputation. The draws follow from
        ``random_state`` and the number of calls so far, which a pickled or
        saved imputer keeps: a copy loaded from one file repeats the draws
        that follow it, as the original does. Their noise is the
        likelihood's, by default one variance shared by the numeric columns;
        ``likelihood="gaussian"`` gives each column its own (see the user
        guide's "Missing values and mixed tables").

    add_indicator : bool, default=False
        Append a :class:`~sklearn.impute.MissingIndicator`'s columns: one
        for each column with a missing cell in fit's X (or in any
        ``partial_fit`` call's, so that a later call may add columns).

    keep_empty_features : bool, default=False
        Keep the numeric columns that have no observed value in fit, imputed
        with 0; otherwise they are dropped from the output with a warning,
        as :class:`~sklearn.impute.SimpleImputer` does.

    categorical_features : "from_dtype", None, or array-like, default="from_dtype"
        Which columns are categorical: "from_dtype" takes pandas ``category``
        and string columns; or names, indices or a boolean mask.

    standardize : "auto" or bool, default="auto"
        Standardise the numeric columns internally. "auto" does, unless
        ``likelihood="bernoulli"``, which reads values in [0, 1].

    alpha : float, default=1e-4
        Strength of the L2 penalty on the weights, scaled as in MLPRegressor.

    batch_size : int or "auto", default="auto"
        Rows per mini-batch; "auto" means ``min(200, n_samples)``. A larger
        int is clipped to ``n_samples``, with a warning (as in MLPRegressor).

    learning_rate_init : float, default=2e-3
        Adam's learning rate.

    max_iter : int or "auto", default="auto"
        Maximum number of epochs. "auto" runs as many as make about 2,500
        optimizer steps: 50 epochs of 10,000 rows, more of a smaller table
        (where early stopping usually ends training first), so that a fit
        of 10,000 rows takes about 20 s on one thread. At least one epoch.
        ``n_iter_`` counts the epochs run.

    tol : float, default=1e-4
        The improvement that counts, for the stopping rule below.

    early_stopping : bool, default=False
        Set aside ``validation_fraction`` of the observed cells (not rows),
        hide them from training, and after each epoch predict them from the
        rest of their row. Training stops once that error has not improved
        by ``tol`` for ``n_iter_no_change`` epochs, and the weights of the
        best epoch are kept. Those cells are what an imputer is asked for:
        cells it has not seen in rows it has. It helps most on small numeric
        tables, where the training loss stops improving early by chance; on
        tables large enough to use the whole step budget, the cells set
        aside are missed more than the stopping rule helps (see
        :doc:`/benchmarks`). With False, training stops on the training
        loss, as :class:`VAETransformer` does, learns from every observed
        cell, and ends with a moving average of the weights over its last
        optimizer steps (about 70 of them), which imputes better than the
        last step's weights.

    validation_fraction : float, default=0.1
        Share of the observed cells set aside with ``early_stopping``,
        rounded up to a whole cell; a table of a single observed cell is
        refused, as the other estimators refuse a single row.

    n_iter_no_change : int or "auto", default="auto"
        Training stops once more than this many consecutive epochs have not
        improved by ``tol`` (MLPRegressor's rule). "auto" is 10
        epochs, and with ``early_stopping`` at least 300 optimizer steps as
        well: an epoch of a small table is one or two steps, the held-out
        error moves from one to the next by chance, and waiting costs only
        time, since the best epoch's weights are kept.

    shuffle : bool, default=True
        Whether to shuffle the rows before each epoch.

    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling, the cells set aside by
        ``early_stopping``, the training noise and the posterior draws of
        ``sample_posterior``. An int gives bit-identical refits and
        imputations on CPU; global RNGs are not touched.

    warm_start : bool, default=False
        Continue from the previous fit's weights instead of starting anew.

    verbose : int, default=0
        Print one line per epoch when positive.

    device : {"cpu", "cuda", "auto"}, default="cpu"
        Where to train and infer; "auto" takes a GPU when torch sees one.
        A model unpickled, copied or loaded infers on the CPU until it
        trains again, and a new ``device`` takes effect at the next fit.

    Attributes
    ----------
    indicator_ : MissingIndicator or None
        The indicator of missing cells, with ``add_indicator``.

    n_components_ : int
        The number of latent variables, ``n_components``.

    encoder_ : torch.nn.Module
        The trained encoder, returning the posterior mean and log-variance.

    decoder_ : torch.nn.Module
        The trained decoder network.

    likelihood_ : torch.nn.Module
        The observation model of the numeric columns, with its variance.

    n_iter_ : int
        Number of epochs run.

    loss_curve_ : list of float
        Minus the importance-weighted bound on log p(x_obs) per row after
        each epoch, in nats of X's own units.

    n_importance_samples_ : int
        The draws per row that ``n_importance_samples="auto"`` takes for
        the rows of fit (or of the first ``partial_fit`` call); an integer
        ``n_importance_samples`` is used as it is instead, even if set
        after fit.

    validation_scores_ : list of float
        Minus the mean error of predicting the held-out cells after each
        epoch: squared error in standard deviations for a numeric cell (in
        its own units with ``standardize=False``), the Brier score for a
        categorical one. Only with ``early_stopping``.

    best_validation_score_ : float
        Best of ``validation_scores_`` after the KL warm-up, the epoch whose
        weights are kept (the last score if training ended within the
        warm-up).

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has string column names.

    See Also
    --------
    sklearn.impute.IterativeImputer : Imputation by chained regressions.
    sklearn.impute.KNNImputer : Imputation from the nearest rows.

    Examples
    --------
    >>> import numpy as np
    >>> from skvae import VAEImputer
    >>> rng = np.random.RandomState(0)
    >>> z = rng.normal(size=(300, 1))
    >>> X = np.hstack([z, 2 * z, -z]) + 0.1 * rng.normal(size=(300, 3))
    >>> X[0, 1] = np.nan
    >>> imputer = VAEImputer(max_iter=60, random_state=0).fit(X)
    >>> X_filled = imputer.transform(X[:1])
    >>> bool(abs(X_filled[0, 1] - 2 * X[0, 0]) < 0.5)
    True
    """

    _parameter_constraints: dict = {
        **VAETransformer._parameter_constraints,
        "missing_values": [MissingValues()],
        "sample_posterior": ["boolean"],
        "add_indicator": ["boolean"],
        "keep_empty_features": ["boolean"],
        "max_iter": MAX_ITER_OR_AUTO,
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "n_importance_samples": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
    }

    def __init__(
        self,
        *,
        missing_values=np.nan,
        n_components=10,
        hidden_layer_sizes=(128, 128),
        activation="relu",
        network="mlp",
        network_params=None,
        input_shape=None,
        beta=1.0,
        likelihood="gaussian_shared",
        kl_warmup_steps=0,
        n_importance_samples="auto",
        sample_posterior=False,
        add_indicator=False,
        keep_empty_features=False,
        categorical_features="from_dtype",
        standardize="auto",
        alpha=1e-4,
        batch_size="auto",
        learning_rate_init=2e-3,
        max_iter="auto",
        tol=1e-4,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change="auto",
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
        self.missing_values = missing_values
        self.sample_posterior = sample_posterior
        self.add_indicator = add_indicator
        self.keep_empty_features = keep_empty_features

    # -- the table: missing_values as NaN, empty columns kept ------------------

    # Columns never observed in fit are kept (keep_empty_features), missing to the networks.
    _allows_empty_columns = True

    def _validate_X(self, X, *, reset, training=False):
        return super()._validate_X(as_nan(X, self.missing_values), reset=reset, training=training)

    def _standardize(self):
        if self.standardize == "auto":
            return self.likelihood != "bernoulli"
        return super()._standardize()

    _empty_rows_advice = "Drop them to score the others: transform imputes such rows from the prior."

    def _check_training_rows(self, X):
        """Rows with nothing observed train nothing and are imputed from the prior: nothing to
        refuse (score_samples still refuses them: they have no likelihood to score)."""

    # -- fitting ---------------------------------------------------------------

    def _auto_steps(self, n_features):
        """The optimizer steps of ``max_iter="auto"``."""
        return _STEP_BUDGET

    def _n_training_samples(self):
        return _TRAINING_SAMPLES

    def _weight_average_decay(self):
        # With early stopping, training keeps the best epoch's weights and leaves this out.
        return _WEIGHT_AVERAGE_DECAY

    def _patience(self, steps_per_epoch):
        if self.n_iter_no_change != "auto":
            return self.n_iter_no_change
        if not self.early_stopping:
            return 10
        return max(10, math.ceil(_PATIENCE_STEPS / steps_per_epoch))

    def _split_validation(self, X):
        """Observed cells set aside, not rows: see ``_cell_validation``."""
        table = self._table
        return hold_out_cells(X, table.starts, table.widths, self.validation_fraction, self._seed)

    def _validation_score(self, X):
        return -prediction_error(self._encode, self._decode, self._layout(X.device), X)

    def fit(self, X, y=None):
        """Train the VAE on the incomplete table X.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Training data, with missing cells.

        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            The fitted imputer.
        """
        return super().fit(X, y)

    def partial_fit(self, X, y=None):
        """Train for one pass over the rows of X, keeping the optimizer's state.

        The first call initialises the networks and learns X's columns (the
        categories of categorical columns, the centring and scale of the
        numeric ones, the columns never observed); later calls continue from
        them, so that data can be streamed in chunks: give the first call
        rows that stand for the data. With ``add_indicator``, a column first
        missing in a later call joins the indicator, which then has one more
        output column.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            One chunk of training data, with missing cells (not sparse).

        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            The imputer, trained on one more chunk.
        """
        return super().partial_fit(X, y)

    def _note_training_rows(self, X, X_user, incremental):
        """The indicator's columns: those missing in fit's X, or in any partial_fit call's; and
        the posterior draws start again with a new fit."""
        if not incremental or not hasattr(self, "_n_draws"):
            self._n_draws = 0
        if not self.add_indicator:
            self.indicator_ = None
            return
        # A column's first network input is NaN where its cell is missing, and where it holds a
        # category not seen in fit (a later call's), which the user did give.
        missing = np.isnan(X[:, self._table.starts])
        if self._table.categorical:
            self._unmark_unseen_categories(as_nan(X_user, self.missing_values), missing)
        missing = missing.any(axis=0)
        previous = getattr(self, "indicator_", None) if incremental else None
        if previous is not None:
            missing[previous.features_] = True
        self.indicator_ = fitted_indicator(missing[None, :])

    # -- imputing ----------------------------------------------------------------

    def transform(self, X):
        """Impute the missing cells of X.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Rows with missing cells; the observed cells pass through unchanged.

        Returns
        -------
        X_imputed : ndarray or DataFrame of shape (n_samples, n_features_out)
            X with every missing cell imputed. A float array for numeric
            data; with categorical columns, an object array of numbers and
            categories, or with ``set_output(transform="pandas")`` a
            DataFrame: a ``category`` column (or a pyarrow dictionary) as
            ``category``, with its fitted categories, a string column in its
            string dtype, other categorical columns as pandas makes their
            labels, numeric columns as floats. With ``add_indicator``,
            the indicator's columns follow.
        """
        check_is_fitted(self)
        if self._table.empty and not self.keep_empty_features:
            warn(
                f"Skipping features without any observed values: {column_names(self, self._table.empty)}. "
                "At least one non-missing value in fit is needed to impute a feature; "
                "keep_empty_features=True keeps them, imputed as 0."
            )
        X_nan = as_nan(X, self.missing_values)
        coded, values = self._table.encode(self, X_nan, return_values=True)
        missing = np.isnan(values)
        unseen = self._unmark_unseen_categories(X_nan, missing)
        unseen.update(self._table.given_labels(X_nan, missing))  # observed cells as the user gave them
        generator = None
        if self.sample_posterior:  # a new draw at each call, reproducible from random_state
            self._n_draws += 1
            seed = int(np.random.SeedSequence([self._seed, self._n_draws]).generate_state(1)[0])
            # One stream for all the chunks of the call: each chunk draws afresh.
            generator = torch.Generator().manual_seed(seed)
        means = self._map_rows(lambda chunk: impute_rows(self, chunk, generator), coded)
        del coded  # one copy of the table fewer held from here on
        filled = self._table.uncode(means)
        del means
        np.copyto(filled, values, where=~missing)  # the observed cells, unchanged
        # Columns never observed in fit: 0, as SimpleImputer(keep_empty_features=True) gives them.
        empty = self._table.empty
        filled[:, empty] = np.where(missing[:, empty], 0.0, values[:, empty])
        kept = self._output_columns()
        # A DataFrame keeps the categories' dtypes.
        container = _get_output_config("transform", self)["dense"]
        as_frame = container != "default"
        index = X.index if isinstance(X, pd.DataFrame) else None
        if len(kept) < filled.shape[1]:
            filled = filled[:, kept]
        table = self._table.to_table(
            self, filled, as_frame=as_frame, columns=kept, index=index, unseen=unseen
        )
        if self.indicator_ is not None:
            table = self._with_indicator(table, missing)
        if container == "polars" and isinstance(table, pd.DataFrame):
            return as_polars(table, self._table, kept)
        return table

    def _with_indicator(self, table, missing):
        """The imputed table, then the indicator's columns: in a DataFrame floats, 0 or 1, as in a table
        of numbers; in an object array, as the table's own values."""
        indicator = self.indicator_.transform(missing_as_nan(missing))
        if isinstance(table, pd.DataFrame):
            names = self.indicator_.get_feature_names_out(_check_feature_names_in(self, None))
            indicator = pd.DataFrame(indicator.astype(np.float64), columns=names, index=table.index)
            return pd.concat([table, indicator], axis=1)
        return np.hstack([table, indicator.astype(table.dtype)])

    def _unmark_unseen_categories(self, X_nan, missing):
        """Mark observed, in ``missing`` (the cells the networks read as missing, one column per
        column of X; written to), the categories not seen in fit: the user gave those cells. Returns
        them, as ``unseen_categories`` does."""
        unseen = self._table.unseen_categories(X_nan, missing)
        for j, (rows, _) in unseen.items():
            missing[rows, j] = False
        return unseen

    def _note_training_size(self, n_samples, incremental):
        """What n_importance_samples="auto" draws, from fit's rows or the first partial_fit call's
        (as the columns are): resolved before training, for callbacks that score."""
        if not incremental or not hasattr(self, "n_importance_samples_"):
            draws = min(_AUTO_ROW_DRAWS // max(n_samples, 1), _AUTO_DRAW_INPUTS // self._table.width)
            self.n_importance_samples_ = min(_MAX_AUTO_DRAWS, max(_MIN_AUTO_DRAWS, draws))

    def _importance_draws(self):
        if self.n_importance_samples != "auto":
            return self.n_importance_samples
        if not hasattr(self, "n_importance_samples_"):  # a file saved before "auto" existed
            raise ValueError(
                'This VAEImputer was saved before n_importance_samples="auto" existed and does not know '
                "its training rows: set n_importance_samples to an integer, or fit it again."
            )
        return self.n_importance_samples_

    def _fixed_noise(self, n_samples, device):
        # Scrambled Sobol points: the conditional means converge in fewer draws than with
        # pseudo-random ones, at no cost (benchmarks page, "VAEImputer variants").
        return quasi_random_normal(n_samples, self.n_components_, SCORE_SEED, device)

    # -- feature names ---------------------------------------------------------------

    def _output_columns(self):
        """The input columns transform returns: all, or those observed in fit (keep_empty_features)."""
        empty = set(self._table.empty)
        return [j for j in range(self._table.n_columns) if self.keep_empty_features or j not in empty]

    def get_feature_names_out(self, input_features=None):
        """Return the names of the output columns.

        The input's names (without the empty columns dropped), then the
        indicator's.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input feature names; by default ``feature_names_in_`` or x0, x1, ...

        Returns
        -------
        feature_names_out : ndarray of str objects
            The output column names.
        """
        check_is_fitted(self)
        names = _check_feature_names_in(self, input_features)
        names_out = names[self._output_columns()]
        if self.indicator_ is not None:
            names_out = np.concatenate([names_out, self.indicator_.get_feature_names_out(names)])
        return np.asarray(names_out, dtype=object)

    @property
    def _n_features_out(self):
        # The base class's is the code's width; scikit-learn's helpers read this one.
        return len(self.get_feature_names_out())

    @available_if(lambda self: False)
    def inverse_transform(self, X):
        """Not available: the imputer's output is the table itself, not a code.

        Parameters
        ----------
        X : array-like
            Not used.

        Returns
        -------
        None
            Never returns; ``hasattr(imputer, "inverse_transform")`` is False.
        """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # As scikit-learn's imputers: NaN is accepted only where it marks the missing cells.
        tags.input_tags.allow_nan = is_nan_placeholder(self.missing_values)
        tags.input_tags.sparse = False  # see _missing_values.as_nan
        return tags
