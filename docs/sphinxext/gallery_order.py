"""The order of the gallery's examples: from a first fit to the details."""

ORDER = [
    "plot_quickstart.py",
    "plot_pca_comparison.py",
    "plot_mnist_autoencoder.py",
    "plot_mnist_networks.py",
    "plot_sequence_autoencoder.py",
    "plot_pandas_pipeline.py",
    "plot_grid_search.py",
    "plot_anomaly_detection.py",
    "plot_missing_values.py",
    "plot_vae_generation.py",
    "plot_training_curves.py",
    "plot_progress_and_onnx.py",
]


class ExampleOrder:
    """sphinx-gallery sort key: the files of ORDER first, in that order, then the others by name."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        position = ORDER.index(filename) if filename in ORDER else len(ORDER)
        return (position, filename)
