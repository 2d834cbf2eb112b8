"""The torch networks: multilayer perceptrons and the VAE's Gaussian encoder.

Networks own tensors only. Initialisation draws from an explicit
``torch.Generator`` so that fitting never touches torch's global RNG (see
``glorot_uniform_``; ``_conv`` builds the convolutional family the same way).
"""

import math

import torch
from torch import nn

ACTIVATIONS = {
    "identity": nn.Identity,
    "logistic": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
}


# The posterior's log-variance is clamped to this range, by every encoder and in the ONNX graph:
# exp(log_var) must stay finite and positive in float32, also for unscaled inputs (a spread of
# about 1e3 overflowed it in the first epoch).
LOG_VAR_RANGE = (-30.0, 20.0)


class Float32Layer:
    """Mixin for a torch layer: built in float32 and left to ``glorot_uniform_`` to initialise.

    float32 is the precision skvae computes in, whatever torch's default
    dtype is; torch's own initialisation draws from its global RNG, which
    fitting must not touch.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, dtype=torch.float32, **kwargs)

    def reset_parameters(self):
        pass


class Linear(Float32Layer, nn.Linear):
    """``nn.Linear``, in float32 and initialised by ``glorot_uniform_``."""


def glorot_uniform_(layer, fan_in, fan_out, activation, generator):
    """Initialise ``layer`` in place: Glorot-uniform weights, zero biases; returns it."""
    # As in scikit-learn's MLP (a factor 2 for the logistic function); zero
    # biases keep the initial code centred.
    factor = 2.0 if activation == "logistic" else 6.0
    bound = math.sqrt(factor / (fan_in + fan_out))
    with torch.no_grad():
        layer.weight.uniform_(-bound, bound, generator=generator)
        layer.bias.zero_()
    return layer


def make_linear(n_in, n_out, activation, generator):
    return glorot_uniform_(Linear(n_in, n_out), n_in, n_out, activation, generator)


def make_mlp(layer_sizes, activation, generator):
    """Linear layers of ``layer_sizes`` with ``activation`` between them.

    The last layer has no activation: codes, means and logits are unbounded.
    """
    layers = []
    for i, (n_in, n_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:], strict=True)):
        if i > 0:
            layers.append(ACTIVATIONS[activation]())
        layers.append(make_linear(n_in, n_out, activation, generator))
    return nn.Sequential(*layers)


def make_autoencoder(n_features, hidden_layer_sizes, n_components, activation, generator):
    """Encoder and mirrored decoder of a deterministic autoencoder."""
    widths = [n_features, *hidden_layer_sizes, n_components]
    encoder = make_mlp(widths, activation, generator)
    decoder = make_mlp(widths[::-1], activation, generator)
    return encoder, decoder


def decode_draws(decoder, z):
    """The decoder's outputs (..., n, width) at codes z (..., n, n_components), decoded as one batch.

    Several draws or starting points of each row come as a leading axis; a
    network takes rows only (a convolution or batch norm reads a third axis
    as its own).
    """
    return decoder(z.reshape(-1, z.shape[-1])).reshape(*z.shape[:-1], -1)


class GaussianEncoder(nn.Module):
    """q(z|x) = N(mean(x), diag(exp(log_var(x)))) from one shared trunk."""

    def __init__(self, n_features, hidden_layer_sizes, n_components, activation, generator):
        super().__init__()
        widths = [n_features, *hidden_layer_sizes]
        self.trunk = nn.Sequential(
            make_mlp(widths, activation, generator) if hidden_layer_sizes else nn.Identity(),
            ACTIVATIONS[activation]() if hidden_layer_sizes else nn.Identity(),
        )
        self.head = make_linear(widths[-1], 2 * n_components, activation, generator)

    def forward(self, x):
        mean, log_var = self.head(self.trunk(x)).chunk(2, dim=-1)
        return mean, log_var.clamp(*LOG_VAR_RANGE)


class GaussianPosterior(nn.Module):
    """q(z|x) from any encoder network: its output is split into mean and log-variance.

    ``network`` returns either the pair or one tensor of twice the code's
    width, the means first.
    """

    def __init__(self, network):
        super().__init__()
        self.network = network

    def forward(self, x):
        output = self.network(x)
        mean, log_var = output if isinstance(output, (tuple, list)) else output.chunk(2, dim=-1)
        return mean, log_var.clamp(*LOG_VAR_RANGE)
