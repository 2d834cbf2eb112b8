"""Autoencoders and variational autoencoders as scikit-learn transformers."""

from ._autoencoder import AutoencoderTransformer
from ._autoencoder_detector import AutoencoderOutlierDetector
from ._imputer import VAEImputer
from ._persistence import load, save
from ._vae import VAETransformer
from ._vae_detector import VAEOutlierDetector

__all__ = [
    "AutoencoderOutlierDetector",
    "AutoencoderTransformer",
    "VAEImputer",
    "VAEOutlierDetector",
    "VAETransformer",
    "load",
    "save",
]
__version__ = "0.1.0"
