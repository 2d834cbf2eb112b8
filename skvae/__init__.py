"""Autoencoders and variational autoencoders as scikit-learn transformers."""

from ._autoencoder import AutoencoderTransformer
from ._detectors import AutoencoderOutlierDetector, VAEOutlierDetector
from ._persistence import load, save
from ._vae import VAETransformer

__all__ = [
    "AutoencoderOutlierDetector",
    "AutoencoderTransformer",
    "VAEOutlierDetector",
    "VAETransformer",
    "load",
    "save",
]
__version__ = "0.1.0"
