"""Autoencoders and variational autoencoders as scikit-learn transformers."""

from ._autoencoder import AutoencoderTransformer
from ._autoencoder_detector import AutoencoderOutlierDetector
from ._persistence import load, save
from ._vae import VAETransformer
from ._vae_detector import VAEOutlierDetector

__all__ = [
    "AutoencoderOutlierDetector",
    "AutoencoderTransformer",
    "VAEOutlierDetector",
    "VAETransformer",
    "load",
    "save",
]
__version__ = "0.1.0"
