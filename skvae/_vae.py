"""The variational autoencoder."""

import math
from functools import partial
from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils._set_output import ADAPTERS_MANAGER, _get_output_config
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from ._architectures import make_encoder_decoder
from ._base import BaseAutoencoder
from ._bounds import negative_elbo, negative_importance_weighted_bound, standard_normal_log_prob
from ._column_statistics import value_range
from ._conditional import SCORE_SEED, importance_samples, pseudo_random_normal
from ._likelihood_calibration import calibrate_likelihood
from ._likelihoods import BernoulliLikelihood, make_likelihood
from ._networks import decode_draws
from ._polars_output import as_polars

# Upper bound on the elements of one (samples x rows x width) block.
_BLOCK_ELEMENTS = 2**23


class VAETransformer(BaseAutoencoder):
    """Variational autoencoder: a nonlinear latent-variable model of the rows.

    The encoder outputs a Gaussian posterior q(z|x) = N(mu(x), diag sigma(x)^2)
    over ``n_components`` latent variables with a N(0, I) prior; the decoder
    outputs the parameters of p(x|z). Training maximises the evidence lower
    bound ELBO = E_q[log p(x|z)] - beta KL(q(z|x) || N(0, I)) with the
    reparameterisation trick. ``transform`` returns the posterior mean, and
    ``score_samples`` an importance-weighted estimate of log p(x) in nats.

    Parameters
    ----------
    n_components : int, default=2
        Number of latent variables. Unlike PCA's, it may exceed the number
        of features; the KL term then leaves the latent variables the rows
        do not need unused.

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

    likelihood : {"gaussian", "gaussian_shared", "student_t", "bernoulli"}, default="gaussian"
        The decoder's distribution p(x|z). "gaussian": a Gaussian around the
        decoder's output with a learned variance per feature (as in
        FactorAnalysis); "gaussian_shared": one learned variance for all
        features (as in probabilistic PCA). Both have a floor of 1e-6 so that
        constant columns cannot drive the likelihood to infinity; use a linear
        output (the decoder's last layer always is). "student_t": scores with
        a Student-t of 6 degrees of freedom around the decoder's output, with
        a scale per feature fitted to the training residuals; its heavy
        tails keep a few rows that fit badly from widening a feature's scale
        (the networks train as with "gaussian"). "bernoulli": for data in
        [0, 1] such as pixel intensities; the decoder outputs logits and
        ``inverse_transform`` their sigmoid.

    kl_warmup_steps : int, default=0
        Number of optimizer steps over which the weight of the KL term rises
        linearly from 0 to ``beta`` (KL annealing, against posterior
        collapse). Early stopping only starts counting after the warm-up.

    n_importance_samples : int, default=50
        Posterior samples K per row in ``score_samples``. The estimate
        log (1/K) sum_k p(x, z_k) / q(z_k|x) is a lower bound on log p(x) in
        expectation; its bias shrinks as K grows (roughly as 1/K, Burda et
        al. 2016) and K=1 gives the ELBO.

    alpha : float, default=1e-4
        Strength of the L2 penalty on the weights, scaled as in MLPRegressor.

    batch_size : int or "auto", default="auto"
        Rows per mini-batch; "auto" means ``min(200, n_samples)``. A larger
        int is clipped to ``n_samples``, with a warning (as in MLPRegressor).

    learning_rate_init : float, default=2e-3
        Adam's learning rate.

    max_iter : int, default=200
        Maximum number of epochs.

    tol : float, default=1e-4
        Improvement below which an epoch counts as no improvement.

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows, stop when their ELBO
        stops improving and restore the best weights.

    validation_fraction : float, default=0.1
        Share of the rows held out with ``early_stopping``, rounded up.

    n_iter_no_change : int, default=20
        Training stops once more than this many consecutive epochs have not
        improved by ``tol`` (MLPRegressor's rule; its default of 10 is too
        few here: the loss, an ELBO of one posterior draw per row, moves a
        nat or two between epochs of a few thousand rows while it still
        improves by a tenth, and 10 stopped training on ``load_digits`` at
        75-136 of 200 epochs with 9-25% more reconstruction error).

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
        not seen in fit is treated as a missing cell, with a UserWarning.

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

    encoder_ : torch.nn.Module
        The trained encoder, returning the posterior mean and log-variance.

    decoder_ : torch.nn.Module
        The trained decoder network.

    likelihood_ : torch.nn.Module
        The observation model p(x|z), with its learned variance if Gaussian
        (and its scales if Student-t).

    n_iter_ : int
        Number of epochs run.

    loss_curve_ : list of float
        Mean negative ELBO per row after each epoch, in nats of X's own units
        (as ``validation_scores_``, whatever ``standardize``).

    validation_scores_ : list of float
        Mean ELBO of the held-out rows after each epoch; only with ``early_stopping``.

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
    AutoencoderTransformer : The deterministic autoencoder.
    sklearn.decomposition.FactorAnalysis : The linear Gaussian latent model.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skvae import VAETransformer
    >>> X = load_digits().data / 16
    >>> vae = VAETransformer(n_components=4, max_iter=10, random_state=0).fit(X)
    >>> vae.transform(X[:3]).shape
    (3, 4)
    >>> vae.sample(5, random_state=0).shape
    (5, 64)
    """

    _parameter_constraints: dict = {
        **BaseAutoencoder._parameter_constraints,
        "beta": [Interval(Real, 0, None, closed="left")],
        "likelihood": [StrOptions({"gaussian", "gaussian_shared", "student_t", "bernoulli"})],
        "kl_warmup_steps": [Interval(Integral, 0, None, closed="left")],
        "n_importance_samples": [Interval(Integral, 1, None, closed="left")],
    }
    _architecture_params = (*BaseAutoencoder._architecture_params, "likelihood")
    _variational = True

    def __init__(
        self,
        n_components=2,
        *,
        hidden_layer_sizes=(128,),
        activation="relu",
        network="mlp",
        network_params=None,
        input_shape=None,
        beta=1.0,
        likelihood="gaussian",
        kl_warmup_steps=0,
        n_importance_samples=50,
        alpha=1e-4,
        batch_size="auto",
        learning_rate_init=2e-3,
        max_iter=200,
        tol=1e-4,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=20,
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
        self.beta = beta
        self.likelihood = likelihood
        self.kl_warmup_steps = kl_warmup_steps
        self.n_importance_samples = n_importance_samples

    def _build_networks(self, n_features, hidden_layer_sizes, generator, n_numeric=None):
        encoder, decoder = make_encoder_decoder(self, n_features, hidden_layer_sizes, generator)
        return {
            "encoder": encoder,
            "decoder": decoder,
            # The numeric columns' distribution; categorical columns have a
            # softmax over their categories (see _log_px_by_column).
            "likelihood": make_likelihood(self.likelihood, n_features if n_numeric is None else n_numeric),
        }

    def _standardize(self):
        if self.likelihood != "bernoulli":
            return self.standardize
        if self.standardize is True:
            raise ValueError(
                "likelihood='bernoulli' reads X's numeric columns as values in [0, 1]: they cannot be "
                "standardized. Use standardize='auto' or False."
            )
        return False

    def _check_input_range(self, X, training=False):
        if training:  # fit builds the likelihood the parameter names
            bernoulli = self.likelihood == "bernoulli"
        else:  # the fitted likelihood: set_params after fit changes only the next fit
            bernoulli = isinstance(self.likelihood_, BernoulliLikelihood)
        if not bernoulli:
            return
        numeric = X[:, self._table.numeric_positions] if self._table.categorical else X
        low, high = value_range(numeric)
        if low < 0 or high > 1:
            raise ValueError(
                "likelihood='bernoulli' needs X in [0, 1]; got values in "
                f"[{low:.4g}, {high:.4g}]. Scale X into it (MinMaxScaler(clip=True) keeps new rows there "
                "too) or use likelihood='gaussian'."
            )

    def _warmup_steps(self):
        return self.kl_warmup_steps

    def _n_training_samples(self):
        """Hook: posterior draws per row and training step; more than one trains on the
        importance-weighted bound instead of the ELBO (see ``_bounds``)."""
        return 1

    def _loss(self, batch, generator, has_missing):
        # _n_steps counts this step already (_fitting._step_loss).
        kl_weight = self.beta * min(1.0, self._n_steps / max(self.kl_warmup_steps, 1))
        x, observed = self._prepare_batch(batch, has_missing)
        mean, log_var = self.encoder_(x)
        n_samples = self._n_training_samples()
        if n_samples > 1:
            return negative_importance_weighted_bound(
                self, x, observed, mean, log_var, generator, kl_weight, n_samples
            )
        return negative_elbo(self, x, observed, mean, log_var, generator, kl_weight)

    def _encoder_mean(self, x):
        return self.encoder_(x)[0]

    def _posterior_mean_and_std(self, X):
        """The posterior's mean and standard deviation side by side: the rows prepared once."""
        mean, log_var = self.encoder_(self._prepare(X)[0])
        return torch.cat([mean, torch.exp(0.5 * log_var)], dim=-1)

    def _log_px_by_column(self, x, decoded, observed, training=False, categorical=None):
        """log p(x_j | decoded) of each input column, in nats of X's own units; 0 where missing.

        ``training``: under the distribution the networks train with, where
        the likelihood scores with another (likelihood="student_t").
        ``categorical``: the categorical columns' terms, where the caller
        has them already (``ColumnLayout.categorical_log_probs``).
        """
        layout = self._layout(x.device)
        likelihood = self.likelihood_
        log_prob = likelihood.training_log_prob_per_feature if training else likelihood.log_prob_per_feature
        # Standardised columns: the density of X itself (the Jacobian of the scaling).
        numeric = log_prob(layout.numeric_part(x), layout.numeric_part(decoded)) - layout.log_scale

        def categorical_terms():
            return layout.categorical_log_probs(x, decoded) if categorical is None else categorical

        return layout.column_terms(numeric, observed, categorical_terms)

    def _log_px(self, x, decoded, observed, training=False, categorical=None):
        """log p(x | decoded) over the observed cells, one value per row (and sample)."""
        if not self._table.is_identity:
            return self._log_px_by_column(x, decoded, observed, training, categorical).sum(dim=-1)
        log_prob = self.likelihood_.training_log_prob if training else self.likelihood_.log_prob
        if observed is None:
            return log_prob(x, decoded)
        # A complete row's score in the one arithmetic, whether or not another row of the
        # call misses a cell (the sums round differently; a row on the offset_ flipped).
        complete = observed.all(dim=-1)
        return torch.where(
            complete, log_prob(x, decoded), self._log_px_by_column(x, decoded, observed, training).sum(dim=-1)
        )

    def transform(self, X, return_std=False):
        """Encode X as the mean of the posterior q(z|x).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to encode.

        return_std : bool, default=False
            Also return the posterior standard deviation of each latent
            variable, as GaussianProcessRegressor.predict does.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            The posterior mean of each row, in the dtype of X.

        X_std : ndarray of shape (n_samples, n_components)
            The posterior standard deviation; only with ``return_std=True``.
            A DataFrame as the means are, with their columns and index, when
            ``set_output`` asks for one.
            For a row with missing cells, the encoder's at the row as filled
            (see the user guide's "Missing values and mixed tables"): it
            widens for the cells the row lacks only as far as the encoder
            learnt to from incomplete training rows, and not at all for a
            model fitted on complete rows.
        """
        if not return_std:
            return super().transform(X)
        check_is_fitted(self)
        X_user, X = X, self._validate_X(X, reset=False)  # validated once, so that it warns once
        mean_and_std = self._map_rows(self._posterior_mean_and_std, X)
        k = self.n_components_
        std = np.ascontiguousarray(mean_and_std[:, k:])
        container = _get_output_config("transform", self)["dense"]
        if container != "default":  # set_output wraps the means only: the spreads as they are
            std = ADAPTERS_MANAGER.adapters[container].create_container(
                std, X_user, columns=self.get_feature_names_out(), inplace=False
            )
        return np.ascontiguousarray(mean_and_std[:, :k]), std

    def _decode(self, Z):
        return self._means(self.decoder_(Z))

    def _means(self, decoded):
        """The decoder's outputs as means of the numeric inputs and probabilities of the categories."""
        # The likelihood's mean is elementwise: the categories' inputs are replaced by probabilities.
        return self._layout(decoded.device).categorical_probabilities(decoded, self.likelihood_.mean(decoded))

    def _after_fit(self, X):
        calibrate_likelihood(self, X)

    def _importance_draws(self):
        """Posterior draws per row for scores (and an imputer's conditional means)."""
        return self.n_importance_samples

    def _log_importance_weights(self, X, noise):
        """log p(x, z_k) - log q(z_k|x) for z_k = mu + sigma * noise[k] (noise (K, d), or (K, n, d):
        each row's own); shape (K, n)."""
        x, observed = self._prepare(X)
        mean, log_var = self.encoder_(x)
        return importance_samples(mean, 0.5 * log_var, noise, partial(self._log_joint, x, observed))[0]

    def _log_joint(self, x, observed, z, return_means=False):
        """log p(x_obs, z) (K, n) of prepared rows at codes z (K, n, d), and the decoder's outputs
        (``return_means``: as ``_means``, the categories' terms and probabilities from one pass)."""
        decoded = decode_draws(self.decoder_, z)
        categorical, outputs = None, decoded
        if return_means:  # as _means, with the categories' terms from the same pass
            categorical, outputs = self._layout(x.device).categorical_log_probs_and_probabilities(
                x, decoded, self.likelihood_.mean(decoded)
            )
        log_px = self._log_px(x, decoded, observed, categorical=categorical)
        return log_px + standard_normal_log_prob(z), outputs

    def _fixed_noise(self, n_samples, device):
        """The standard normal draws (n_samples, n_components_) that every row is scored with."""
        return pseudo_random_normal(n_samples, self.n_components_, SCORE_SEED, device)

    def _score_rows(self, X):
        """Importance-weighted estimate of log p(x) (Burda et al., 2016).

        Every row is scored with the same fixed noise, so that a row's score
        depends neither on the call nor on the rows scored with it.
        """
        n_samples = self._importance_draws()
        noise = self._fixed_noise(n_samples, X.device)
        scores, rows = [], self._block_rows(X)
        for start in range(0, X.shape[0], rows):
            log_w = self._log_importance_weights(X[start : start + rows], noise)
            scores.append(torch.logsumexp(log_w, dim=0) - math.log(n_samples))
        return torch.cat(scores)

    def _block_rows(self, X):
        """Rows per block of K importance samples: a block stays under _BLOCK_ELEMENTS, or is 64 rows."""
        width = max(X.shape[1], *self._hidden_layer_sizes(), 1)
        return max(64, _BLOCK_ELEMENTS // (self._importance_draws() * width) // 64 * 64)

    def _validation_score(self, X):
        # The single-sample ELBO, cheap enough to compute every epoch, with a draw of each row's
        # own: one draw shared by every row would not average out over them (its error, the same
        # at every epoch, put the mean above log p(x) by 0.2 nats on a linear-Gaussian model).
        noise = pseudo_random_normal(X.shape[0], self.n_components_, SCORE_SEED, X.device)
        return self._log_importance_weights(X, noise[None]).mean()

    def sample(self, n_samples=1, random_state=None):
        """Generate rows: z from the prior N(0, I), decoded to the mean of p(x|z).

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows to generate.

        random_state : int, RandomState instance or None, default=None
            Seeds the latent draws.

        Returns
        -------
        X : ndarray or DataFrame of shape (n_samples, `n_features_in_`)
            Generated rows; a DataFrame with the input's column names when
            ``set_output(transform="pandas")`` (or "polars") is configured.
            A column :class:`VAEImputer` never observed in fit is NaN: the
            model knows nothing of it.
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or isinstance(n_samples, (bool, np.bool_)) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
        seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
        z = torch.randn(
            (n_samples, self.n_components_),
            generator=torch.Generator().manual_seed(seed),
            dtype=torch.float32,
            device="cpu",
        )
        container = _get_output_config("transform", self)["dense"]
        rows = self._map_rows(self._decode, z.numpy().astype(np.float64))
        rows = self._table.decode(self, rows, as_frame=container != "default")
        if container == "default" or (isinstance(rows, pd.DataFrame) and container == "pandas"):
            return rows
        if isinstance(rows, pd.DataFrame):
            return as_polars(rows, self._table, range(self._table.n_columns))
        names = _check_feature_names_in(self, None)
        return ADAPTERS_MANAGER.adapters[container].create_container(rows, None, columns=list(names))
