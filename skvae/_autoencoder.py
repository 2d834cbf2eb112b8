"""The deterministic autoencoder."""

import numpy as np
import torch

from ._architectures import make_encoder_decoder
from ._base import BaseAutoencoder


class AutoencoderTransformer(BaseAutoencoder):
    """Nonlinear dimensionality reduction with a neural autoencoder.

    An encoder network maps each row x to a code z of ``n_components``
    values; a decoder mirrors it and maps z back. Both are trained together
    to minimise the mean squared reconstruction error, with Adam on
    mini-batches, as scikit-learn's :class:`~sklearn.neural_network.MLPRegressor`
    is. With ``activation="identity"`` and no hidden layers the code spans the
    same subspace as :class:`~sklearn.decomposition.PCA`.

    Parameters
    ----------
    n_components : int, default=2
        Size of the code (the bottleneck). Unlike PCA's, it may exceed the
        number of features: an overcomplete code, which no bottleneck
        forces to summarise the rows.

    hidden_layer_sizes : array-like of int, default=(128,)
        Widths of the encoder's hidden layers, from the input inwards; the
        decoder mirrors them. An empty tuple gives a linear autoencoder.

    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
        Activation between layers. The code and the reconstruction are linear.

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

    max_iter : int, default=200
        Maximum number of epochs (passes over the training data).

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
        Seeds weight initialisation, shuffling and the validation split. An
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
        The trained encoder, from the coded columns (one input per category
        of a categorical column) to ``n_components``.

    decoder_ : torch.nn.Module
        The trained decoder, from ``n_components`` to the coded columns.

    n_iter_ : int
        Number of epochs run.

    loss_curve_ : list of float
        Mean training loss after each epoch: the squared reconstruction error per row,
        in the units the networks read (standard deviations where ``standardize``
        scales the columns; a categorical column's cross-entropy).

    validation_scores_ : list of float
        Score on the held-out rows after each epoch, in the units of ``loss_curve_``; only with
        ``early_stopping``. (``score_samples`` and ``score`` count the numbers' errors in X's units.)

    best_validation_score_ : float
        Best of ``validation_scores_``; only with ``early_stopping``.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has string column names.

    See Also
    --------
    VAETransformer : The variational autoencoder, with likelihood scores.
    sklearn.decomposition.PCA : The linear baseline.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skvae import AutoencoderTransformer
    >>> X = load_digits().data / 16
    >>> ae = AutoencoderTransformer(n_components=8, max_iter=20, random_state=0)
    >>> ae.fit_transform(X).shape
    (1797, 8)
    >>> ae.inverse_transform(ae.transform(X[:2])).shape
    (2, 64)
    """

    def _build_networks(self, n_features, hidden_layer_sizes, generator, n_numeric=None):
        encoder, decoder = make_encoder_decoder(self, n_features, hidden_layer_sizes, generator)
        return {"encoder": encoder, "decoder": decoder}

    def _loss(self, batch, generator, has_missing):
        x, observed = self._prepare_batch(batch, has_missing)
        return self._row_errors(x, observed).mean()

    def _row_errors(self, x, observed):
        """Each row's reconstruction error, summed over its observed cells."""
        return self._column_errors(x, self._reconstruct(x), observed).sum(dim=1)

    def _column_errors(self, x, decoded, observed):
        """Each input column's reconstruction error: squared for numbers, cross-entropy for categories.

        Missing cells (``observed`` False) count 0.
        """
        layout = self._layout(x.device)
        errors = (layout.numeric_part(decoded) - layout.numeric_part(x)).square()
        return layout.column_terms(errors, observed, lambda: -layout.categorical_log_probs(x, decoded))

    def _encoder_mean(self, x):
        return self.encoder_(x)

    def _decode(self, Z):
        return self._layout(Z.device).categorical_probabilities(self.decoder_(Z))

    def _score_rows(self, X):
        """Minus the reconstruction error of each row over its observed cells, numbers in X's units
        (what inverse_transform's are in, and comparable between standardize's settings)."""
        x, observed = self._prepare(X)
        errors = self._column_errors(x, self._reconstruct(x), observed)
        if self._table.standardized:
            errors = errors * torch.as_tensor(
                self._squared_column_scales(), dtype=errors.dtype, device=errors.device
            )
        return -errors.sum(dim=1)

    def _squared_column_scales(self):
        """Each input column's standardising scale, squared (1 for a categorical column)."""
        squares = np.ones(self._table.n_columns)
        squares[self._table.numeric] = np.square(self._table.scale)
        return squares

    def _validation_score(self, X):
        # In the networks' units, as the loss: early stopping weighs the columns as training does.
        return -self._row_errors(*self._prepare(X)).mean()
