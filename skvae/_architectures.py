"""Which networks an estimator builds: the ``network`` parameter.

``"mlp"`` (multilayer perceptrons, ``_networks``), ``"conv"`` (convolutions
over rows viewed as images or series, ``_conv``), or the user's own factory
(``_user_networks``). Every family gives an encoder and a decoder over the
rows the table layer codes (``_table``): ``n_features`` numeric inputs, one
per numeric column and per category of a categorical column.
"""

import math
from numbers import Integral

import torch

from ._conv import make_conv_autoencoder
from ._networks import GaussianEncoder, GaussianPosterior, make_autoencoder, make_mlp
from ._user_networks import build_user_networks, check_factory, check_output_shapes

BUILT_IN = ("mlp", "conv")


def check_network(estimator, n_features, all_numeric):
    """Refuse a ``network`` / ``network_params`` / ``input_shape`` combination that cannot fit X.

    ``n_features`` is the width of the coded rows; ``all_numeric`` whether X
    has no categorical column.
    """
    network, network_params, input_shape = estimator.network, estimator.network_params, estimator.input_shape
    if network not in BUILT_IN:
        check_factory(network, network_params)
    elif network_params:
        raise ValueError(
            f"network_params are the arguments of a user network; network={network!r} takes none, got "
            f"{network_params!r}. Its shape comes from hidden_layer_sizes, activation and input_shape."
        )
    if network == "conv":
        if input_shape is None:
            raise ValueError(
                "network='conv' needs input_shape: (channels, length) for series or (channels, height, "
                "width) for images, e.g. input_shape=(1, 28, 28) for MNIST's rows of 784 pixels."
            )
        if not all_numeric:
            raise ValueError(
                "network='conv' reads each row as an image or series of numbers; X has categorical "
                "columns. Use network='mlp', or encode them first."
            )
        if not estimator._hidden_layer_sizes():
            raise ValueError(
                "network='conv' takes its channels from hidden_layer_sizes, one block per entry; got "
                f"{estimator.hidden_layer_sizes!r}. Give at least one, e.g. hidden_layer_sizes=(16, 32)."
            )
    if input_shape is not None:
        resolve_input_shape(input_shape, n_features)


def resolve_input_shape(input_shape, n_features):
    """``input_shape`` as a tuple, a -1 in it worked out from ``n_features`` (as in numpy's reshape)."""
    shape = tuple(input_shape)
    sizes_ok = all(isinstance(size, Integral) and (size > 0 or size == -1) for size in shape)
    if len(shape) not in (2, 3) or not sizes_ok or shape.count(-1) > 1:
        raise ValueError(
            "input_shape must be (channels, length) or (channels, height, width) of positive integers "
            f"(one of them may be -1, worked out from the number of features), got {input_shape!r}."
        )
    known = math.prod(size for size in shape if size != -1)
    if -1 in shape and n_features % known == 0:
        shape = tuple(n_features // known if size == -1 else size for size in shape)
    if math.prod(shape) != n_features:
        raise ValueError(
            f"input_shape={tuple(input_shape)} cannot hold rows of {n_features} features: their shape "
            f"must have {n_features} values."
        )
    return tuple(int(size) for size in shape)


def make_encoder_decoder(estimator, n_features, hidden_layer_sizes, generator):
    """The estimator's encoder and decoder; a VAE's encoder returns (mean, log-variance)."""
    network, activation = estimator.network, estimator.activation
    n_components = estimator._resolved_n_components(n_features)
    variational = estimator._variational
    if network == "mlp":
        if not variational:
            return make_autoencoder(n_features, hidden_layer_sizes, n_components, activation, generator)
        encoder = GaussianEncoder(n_features, hidden_layer_sizes, n_components, activation, generator)
        return encoder, make_mlp([n_components, *hidden_layer_sizes[::-1], n_features], activation, generator)
    if network == "conv":
        input_shape = resolve_input_shape(estimator.input_shape, n_features)
        n_code_outputs = 2 * n_components if variational else n_components
        encoder, decoder = make_conv_autoencoder(
            input_shape,
            hidden_layer_sizes,
            n_components,
            activation,
            generator,
            n_code_outputs=n_code_outputs,
        )
        return (GaussianPosterior(encoder) if variational else encoder), decoder
    input_shape = (
        None if estimator.input_shape is None else resolve_input_shape(estimator.input_shape, n_features)
    )
    encoder, decoder = build_user_networks(
        network,
        estimator.network_params,
        n_features=n_features,
        n_components=n_components,
        input_shape=input_shape,
        seed=int(torch.randint(2**31 - 1, (), generator=generator, device=generator.device)),
    )
    return (GaussianPosterior(encoder) if variational else encoder), decoder


def check_user_networks(estimator, n_features):
    """Check once, at fit, that the fitted user network returns what the estimator reads."""
    if estimator.network in BUILT_IN:
        return
    encoder, decoder, variational = estimator.encoder_, estimator.decoder_, estimator._variational
    if variational:
        encoder = encoder.network  # the user's, before GaussianPosterior splits it
    check_output_shapes(
        encoder,
        decoder,
        n_features=n_features,
        n_components=estimator.n_components_,
        variational=variational,
        factory=estimator.network,
    )
