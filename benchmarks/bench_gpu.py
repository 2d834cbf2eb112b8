"""Fit and scoring times on a GPU beside the CPU, and the host syncs a fit makes there.

Each workload runs on every device named, interleaved (device by device within
each repeat, after one untimed warm-up per device, which pays for CUDA's
context and kernels' first-call set-up); the table gives medians. On a CUDA
device, "syncs" counts the synchronising calls torch reports during one fit
(``torch.cuda.set_sync_debug_mode``); each one stalls the host until the GPU
has caught up, and a loop that makes one per optimizer step cannot keep the
GPU busy. "steps" is the optimizer steps of that fit.

Workloads (float32, bench_speed.py's data):

  minimal AE    a hand-written torch loop on the device, data there once (the reference)
  AE / VAE      AutoencoderTransformer / VAETransformer, 100-64-32-8, 5 epochs, batches of 256
  AE / VAE b4k  the same with batches of 4,096
  AE / VAE det  AutoencoderOutlierDetector / VAEOutlierDetector, defaults (robust training)
  imputer       VAEImputer, defaults, on a mixed table (categories, 20% of cells missing)
  conv VAE      VAETransformer(network="conv"), 1x28x28 inputs, 2 epochs
  score VAE det VAEOutlierDetector.score_samples of every row (inference)

Usage, on a machine with a GPU (``--rows`` scales every workload)::

    OMP_NUM_THREADS=1 python benchmarks/bench_gpu.py --devices cpu cuda

and as a dry run on any machine: ``python benchmarks/bench_gpu.py --devices cpu --quick``.

This script is no test: it prints a table and asserts nothing.
"""

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.exceptions import ConvergenceWarning

sys.path.insert(0, str(Path(__file__).parent))
from bench_speed import BATCH_SIZE, HIDDEN_LAYER_SIZES, N_COMPONENTS, make_data, minimal  # noqa: E402

import skvae  # noqa: E402
from skvae import (  # noqa: E402
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    VAEImputer,
    VAEOutlierDetector,
    VAETransformer,
)


def synchronize(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def minimal_autoencoder(X, device, epochs):
    """bench_speed.py's hand-written loop on ``device``; the optimizer steps it took."""
    fit, _ = minimal(device)
    fit(X, epochs)
    return epochs * -(-len(X) // BATCH_SIZE)


def estimator_fit(estimator_class, epochs=None, **params):
    """Fit an estimator with the five-epoch settings of bench_speed.py, or its defaults (epochs None)."""
    if epochs is not None:
        params = {
            "n_components": N_COMPONENTS,
            "hidden_layer_sizes": HIDDEN_LAYER_SIZES,
            "batch_size": BATCH_SIZE,
            "max_iter": epochs,
            "tol": 0.0,
            "n_iter_no_change": 1000,
            **params,
        }
    return lambda X, device: fitted_steps(estimator_class(random_state=0, device=device, **params), X)


def fitted_steps(estimator, X):
    """Fit, and return the optimizer steps the fit took (Adam counts them)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        estimator.fit(X)
    return int(next(iter(estimator._optimizer.state.values()))["step"])


def mixed_table(n_rows, seed=0):
    """Ten numeric columns of a 3-factor model, two categorical ones tied to it, 20% of cells missing."""
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((n_rows, 3))
    numeric = latent @ rng.standard_normal((3, 10)) + 0.3 * rng.standard_normal((n_rows, 10))
    frame = pd.DataFrame(numeric, columns=[f"x{j}" for j in range(10)])
    frame["colour"] = pd.Categorical(np.array(["red", "green", "blue"])[np.argmax(latent, axis=1)])
    frame["sign"] = pd.Categorical(np.where(latent[:, 0] > 0, "plus", "minus"))
    return frame.mask(rng.uniform(size=frame.shape) < 0.2)


def workloads(n_rows):
    X = make_data(n_rows)
    X_detect = make_data(min(n_rows, 10_000), n_features=30, seed=1)
    images = np.clip(make_data(max(n_rows // 10, 256), n_features=784, seed=2), -3, 3)
    table = mixed_table(min(n_rows, 10_000))
    X_score = make_data(n_rows, n_features=30, seed=3)
    detectors = {}  # inference runs where the networks are: one detector fitted per device

    def score(device):
        if device not in detectors:  # in the untimed warm-up
            detectors[device] = VAEOutlierDetector(random_state=0, device=device).fit(X_detect)
        detectors[device].score_samples(X_score)

    def conv(device):
        return VAETransformer(
            network="conv", input_shape=(1, 28, 28), max_iter=2, random_state=0, device=device
        )

    return [
        ("minimal AE", lambda device: minimal_autoencoder(X, device, epochs=5)),
        ("AE", lambda device: estimator_fit(AutoencoderTransformer, epochs=5)(X, device)),
        ("VAE", lambda device: estimator_fit(VAETransformer, epochs=5)(X, device)),
        (
            "AE b4k",
            lambda device: estimator_fit(AutoencoderTransformer, epochs=5, batch_size=4096)(X, device),
        ),
        ("VAE b4k", lambda device: estimator_fit(VAETransformer, epochs=5, batch_size=4096)(X, device)),
        ("AE det", lambda device: estimator_fit(AutoencoderOutlierDetector)(X_detect, device)),
        ("VAE det", lambda device: estimator_fit(VAEOutlierDetector)(X_detect, device)),
        ("imputer", lambda device: estimator_fit(VAEImputer)(table, device)),
        ("conv VAE", lambda device: fitted_steps(conv(device), images)),
        ("score VAE det", score),
    ]


def timed(run, device):
    """Seconds of one run, and on CUDA the synchronising calls torch reported during it."""
    synchronize(device)
    counting = device.startswith("cuda")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if counting:
            torch.cuda.set_sync_debug_mode("warn")
        start = time.perf_counter()
        try:
            steps = run(device)
            synchronize(device)
        finally:
            if counting:
                torch.cuda.set_sync_debug_mode("default")
    seconds = time.perf_counter() - start
    syncs = sum("synchroniz" in str(w.message) for w in caught) if counting else None
    return seconds, syncs, steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", nargs="+", default=["cpu", "cuda"])
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the 100-feature workloads")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch's CPU threads")
    parser.add_argument("--workloads", nargs="+", default=None, help="names (default: every workload)")
    parser.add_argument("--quick", action="store_true", help="2,000 rows and one repeat: a dry run")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.repeats = 2_000, 1
    if any(device.startswith("cuda") for device in args.devices) and not torch.cuda.is_available():
        parser.error("torch sees no CUDA device here; run with --devices cpu")
    torch.set_num_threads(args.threads)
    print(f"skvae {skvae.__version__}, torch {torch.__version__}, {args.threads} CPU thread(s)")
    if torch.cuda.is_available():
        print(f"CUDA device: {torch.cuda.get_device_name()}")
    print(f"rows {args.rows:,}; medians of {args.repeats} runs after one warm-up per device\n")

    header = f"{'workload':<14}" + "".join(f"{device + ' s':>12}" for device in args.devices)
    header += f"{'steps':>8}" + "".join(
        f"{device + ' syncs':>14}" for device in args.devices if device != "cpu"
    )
    print(header)
    for name, run in workloads(args.rows):
        if args.workloads and name not in args.workloads:
            continue
        seconds = {device: [] for device in args.devices}
        syncs, steps = {}, None
        for device in args.devices:
            timed(run, device)  # warm-up
        for _ in range(args.repeats):
            for device in args.devices:
                elapsed, count, steps = timed(run, device)
                seconds[device].append(elapsed)
                syncs[device] = count
        row = f"{name:<14}" + "".join(
            f"{statistics.median(seconds[device]):>12.2f}" for device in args.devices
        )
        row += f"{steps if steps is not None else '':>8}"
        row += "".join(f"{syncs[device]:>14}" for device in args.devices if device != "cpu")
        print(row, flush=True)


if __name__ == "__main__":
    main()
