"""Convolutional encoders and decoders, for rows that are images or series.

X stays a 2-D array of flattened rows, as scikit-learn wants; the networks
view each row as an array of ``input_shape`` -- (channels, length) or
(channels, height, width) -- and give flattened rows back. Each entry of
``hidden_layer_sizes`` is one block: a 3-wide convolution with stride 2 to
that many channels (halving every spatial size, rounding up), then the
activation. A linear layer maps the last block to the code. The decoder
mirrors the encoder: a linear layer back to the last block's shape, then
transposed convolutions with stride 2 up to the input's size and channels,
the last one linear (means or logits are unbounded).

Weights are initialised as the MLP's are, from an explicit generator.
"""

import math

from torch import nn

from ._networks import ACTIVATIONS, Float32Layer, glorot_uniform_, make_linear

_KERNEL = 3


class _Conv1d(Float32Layer, nn.Conv1d):
    pass


class _Conv2d(Float32Layer, nn.Conv2d):
    pass


class _ConvTranspose1d(Float32Layer, nn.ConvTranspose1d):
    pass


class _ConvTranspose2d(Float32Layer, nn.ConvTranspose2d):
    pass


# By the number of spatial dimensions.
_CONVOLUTIONS = {1: _Conv1d, 2: _Conv2d}
_TRANSPOSED = {1: _ConvTranspose1d, 2: _ConvTranspose2d}


def _spatial_sizes(input_shape, n_blocks):
    """The spatial size of the input and after each block: every stride-2 block halves, rounding up."""
    sizes = [tuple(input_shape[1:])]
    for _ in range(n_blocks):
        sizes.append(tuple(-(-size // 2) for size in sizes[-1]))
    return sizes


def _convolution(layer_class, n_in, n_out, activation, generator, **kwargs):
    layer = layer_class(n_in, n_out, _KERNEL, stride=2, padding=1, **kwargs)
    receptive = _KERNEL ** (len(layer.kernel_size))
    return glorot_uniform_(layer, n_in * receptive, n_out * receptive, activation, generator)


class ConvEncoder(nn.Module):
    """Rows viewed as ``input_shape`` -> stride-2 convolution blocks -> ``n_outputs`` values."""

    def __init__(self, input_shape, channels, n_outputs, activation, generator):
        super().__init__()
        self.input_shape = tuple(input_shape)
        convolution = _CONVOLUTIONS[len(self.input_shape) - 1]
        layers = []
        for n_in, n_out in zip([self.input_shape[0], *channels[:-1]], channels, strict=True):
            layers += [
                _convolution(convolution, n_in, n_out, activation, generator),
                ACTIVATIONS[activation](),
            ]
        self.blocks = nn.Sequential(*layers)
        last = (
            channels[-1] if channels else self.input_shape[0],
            *_spatial_sizes(input_shape, len(channels))[-1],
        )
        self.head = make_linear(math.prod(last), n_outputs, activation, generator)

    def forward(self, x):
        return self.head(self.blocks(x.reshape(-1, *self.input_shape)).flatten(1))


class ConvDecoder(nn.Module):
    """Codes -> the last block's shape -> transposed convolutions -> flattened rows of ``input_shape``."""

    def __init__(self, input_shape, channels, n_components, activation, generator):
        super().__init__()
        sizes = _spatial_sizes(input_shape, len(channels))
        self.start_shape = (channels[-1] if channels else input_shape[0], *sizes[-1])
        self.head = make_linear(n_components, math.prod(self.start_shape), activation, generator)
        transposed = _TRANSPOSED[len(input_shape) - 1]
        layers = []
        widths = [*channels[::-1], input_shape[0]]
        for block, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            target = sizes[len(channels) - 1 - block]
            # A stride-2 transposed convolution gives 2n - 1 (+1 with output
            # padding): +1 where the encoder rounded an even size down to n.
            output_padding = tuple(1 - size % 2 for size in target)
            layers += [
                ACTIVATIONS[activation](),
                _convolution(transposed, n_in, n_out, activation, generator, output_padding=output_padding),
            ]
        self.blocks = nn.Sequential(*layers)

    def forward(self, z):
        return self.blocks(self.head(z).reshape(-1, *self.start_shape)).flatten(1)


def make_conv_autoencoder(input_shape, channels, n_components, activation, generator, *, n_code_outputs=None):
    """Encoder (to ``n_code_outputs``, by default ``n_components``) and mirrored decoder."""
    encoder = ConvEncoder(input_shape, channels, n_code_outputs or n_components, activation, generator)
    decoder = ConvDecoder(input_shape, channels, n_components, activation, generator)
    return encoder, decoder
