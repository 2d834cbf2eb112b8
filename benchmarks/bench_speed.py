"""Speed and memory of skvae's estimators against a minimal PyTorch loop and peers.

Every measurement runs in a fresh Python process (this script, re-run with
``--worker NAME``), with the same number of threads, and is the median of
``--repeats`` runs. The contenders fit the same autoencoder,
100-64-32-8-32-64-100 with ReLU, with Adam (lr 1e-3) on shuffled batches of
256 rows for 5 epochs, on 50,000 synthetic float32 rows:

  minimal      a hand-written torch loop: randperm, X[idx], fused Adam, no per-batch sync
  minimal-vae  the same loop training the VAE's maths (the reference for skvae-vae)
  skvae-ae     skvae.AutoencoderTransformer
  skvae-vae    skvae.VAETransformer (same layer sizes; the encoder also outputs log-variances)
  skorch       skorch.NeuralNet on an equivalent module, criterion MSELoss
  pyod-ae      pyod.models.auto_encoder.AutoEncoder (no batch norm, no dropout)
  pca          sklearn.decomposition.PCA(n_components=8), the non-neural reference

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_speed.py             # import, latency, comparison
    OMP_NUM_THREADS=1 python benchmarks/bench_speed.py --scaling   # skvae fit time and RSS vs rows

Memory is peak RSS (``ru_maxrss``) in MB (10**6 bytes): the peak after fit minus
the peak before it, once imports are done and the data exist. The data are built
in small chunks so that they leave no temporaries behind. Fit time and memory
are measured after the once-per-process costs that a first fit would pay
(torch's lazy import of torch._dynamo with the first optimizer, PyOD's numba
compilation, kernels' first-call set-up: each worker fits 1,024 rows once,
untimed); the first-fit latency table includes them.

This script is no test: it prints tables and asserts nothing.
"""

import argparse
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import warnings
from importlib import metadata

# numpy, torch and the estimators are imported by the functions that use them,
# so that each worker process times and measures only its own contender.

N_FEATURES = 100
HIDDEN_LAYER_SIZES = (64, 32)
N_COMPONENTS = 8
BATCH_SIZE = 256
LEARNING_RATE = 1e-3


# -- data and measurements --------------------------------------------------


def make_data(n_samples, n_features=N_FEATURES, rank=N_COMPONENTS, seed=0, chunk_rows=8192):
    """Standardised float32 rows: tanh of a rank-``rank`` signal plus Gaussian noise.

    Written chunk by chunk into one float32 array, so that generating it never
    holds more than a few MB beyond X.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    mixing = rng.standard_normal((rank, n_features), dtype=np.float32) / np.float32(np.sqrt(rank))
    X = np.empty((n_samples, n_features), dtype=np.float32)
    sums, sums_of_squares = np.zeros(n_features), np.zeros(n_features)
    for start in range(0, n_samples, chunk_rows):
        chunk = X[start : start + chunk_rows]
        latent = rng.standard_normal((chunk.shape[0], rank), dtype=np.float32)
        chunk[:] = np.tanh(latent @ mixing)
        chunk += 0.1 * rng.standard_normal(chunk.shape, dtype=np.float32)
        sums += chunk.sum(axis=0, dtype=np.float64)
        sums_of_squares += np.square(chunk, dtype=np.float64).sum(axis=0)
    mean = sums / n_samples
    std = np.sqrt(np.maximum(sums_of_squares / n_samples - mean**2, 1e-12))
    for start in range(0, n_samples, chunk_rows):
        chunk = X[start : start + chunk_rows]
        chunk -= mean.astype(np.float32)
        chunk /= std.astype(np.float32)
    return X


def peak_rss_mb():
    """Peak resident set size of this process so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6


def limit_torch_threads(threads):
    """Pin torch's intra-op threads when this worker has imported torch."""
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)


# -- the contenders ------------------------------------------------------------
#
# Each one imports its packages and returns ``fit(X, epochs) -> model`` and
# ``encode(model, X) -> codes``. Building the networks and the optimizer is part
# of ``fit``, as it is inside the estimators' fit.


def mlp(widths):
    """Linear layers with ReLU between them (none after the last)."""
    from torch import nn

    layers = []
    for n_in, n_out in zip(widths[:-1], widths[1:], strict=True):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def autoencoder_widths(n_features):
    encoder = [n_features, *HIDDEN_LAYER_SIZES, N_COMPONENTS]
    return encoder, encoder[::-1]


def minimal(device="cpu"):
    """The hand-written loop; on another ``device`` (bench_gpu.py) the data move there once."""
    import torch

    def fit(X, epochs):
        torch.manual_seed(0)
        X = torch.from_numpy(X).to(device)
        encoder_widths, decoder_widths = autoencoder_widths(X.shape[1])
        encoder, decoder = mlp(encoder_widths).to(device), mlp(decoder_widths).to(device)
        parameters = [*encoder.parameters(), *decoder.parameters()]
        optimizer = torch.optim.Adam(parameters, lr=LEARNING_RATE, fused=True)
        for _ in range(epochs):
            order = torch.randperm(X.shape[0], device=device)
            for start in range(0, X.shape[0], BATCH_SIZE):
                batch = X[order[start : start + BATCH_SIZE]]
                loss = (decoder(encoder(batch)) - batch).square().sum(dim=1).mean()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        return encoder

    def encode(encoder, X):
        with torch.inference_mode():
            return encoder(torch.from_numpy(X).to(device)).cpu().numpy()

    return fit, encode


def minimal_vae():
    """The VAE's maths by hand: Gaussian encoder, reparameterisation, KL, and a
    Gaussian likelihood at its optimal per-feature variance, as skvae's."""
    import math

    import torch

    def fit(X, epochs):
        torch.manual_seed(0)
        X = torch.from_numpy(X)
        encoder_widths, decoder_widths = autoencoder_widths(X.shape[1])
        encoder, decoder = mlp([*encoder_widths[:-1], 2 * N_COMPONENTS]), mlp(decoder_widths)
        parameters = [*encoder.parameters(), *decoder.parameters()]
        optimizer = torch.optim.Adam(parameters, lr=LEARNING_RATE, fused=True)
        for _ in range(epochs):
            order = torch.randperm(X.shape[0])
            for start in range(0, X.shape[0], BATCH_SIZE):
                batch = X[order[start : start + BATCH_SIZE]]
                mean, log_var = encoder(batch).chunk(2, dim=1)
                std = torch.exp(0.5 * log_var)
                decoded = decoder(mean + std * torch.randn_like(std))
                variance = (batch - decoded).square().mean(dim=0)
                negative_log_likelihood = 0.5 * (torch.log(2 * math.pi * variance) + 1.0).sum()
                kl = 0.5 * (mean.square() + std.square() - 1.0 - log_var).sum(dim=1).mean()
                loss = negative_log_likelihood + kl
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        return encoder

    def encode(encoder, X):
        with torch.inference_mode():
            return encoder(torch.from_numpy(X)).chunk(2, dim=1)[0].numpy()

    return fit, encode


def skvae_estimator(estimator_class):
    from sklearn.exceptions import ConvergenceWarning

    # tol=0 and a large n_iter_no_change: every contender runs all its epochs.
    params = dict(
        n_components=N_COMPONENTS,
        hidden_layer_sizes=HIDDEN_LAYER_SIZES,
        activation="relu",
        learning_rate_init=LEARNING_RATE,
        batch_size=BATCH_SIZE,
        tol=0.0,
        n_iter_no_change=1000,
        random_state=0,
    )

    def fit(X, epochs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return estimator_class(max_iter=epochs, **params).fit(X)

    def encode(estimator, X):
        return estimator.transform(X)

    return fit, encode


def skvae_ae():
    from skvae import AutoencoderTransformer

    return skvae_estimator(AutoencoderTransformer)


def skvae_vae():
    from skvae import VAETransformer

    return skvae_estimator(VAETransformer)


def skorch_ae():
    import torch
    from skorch import NeuralNet

    class Autoencoder(torch.nn.Module):
        """Returns the reconstruction, or the code once ``encode_only`` is set."""

        def __init__(self, n_features):
            super().__init__()
            encoder_widths, decoder_widths = autoencoder_widths(n_features)
            self.encoder, self.decoder = mlp(encoder_widths), mlp(decoder_widths)
            self.encode_only = False

        def forward(self, x):
            code = self.encoder(x)
            return code if self.encode_only else self.decoder(code)

    def fit(X, epochs):
        torch.manual_seed(0)
        net = NeuralNet(
            Autoencoder,
            module__n_features=X.shape[1],
            criterion=torch.nn.MSELoss,
            optimizer=torch.optim.Adam,
            lr=LEARNING_RATE,
            batch_size=BATCH_SIZE,
            max_epochs=epochs,
            train_split=None,
            iterator_train__shuffle=True,
            verbose=0,
        )
        return net.fit(X, X)

    def encode(net, X):
        # skorch's own inference path (its DataLoader, batch_size rows at a
        # time, to numpy), running the encoder only, as skvae's transform does.
        net.module_.encode_only = True
        return net.predict(X)

    return fit, encode


def pyod_ae():
    from pyod.models.auto_encoder import AutoEncoder

    def fit(X, epochs):
        # hidden_neuron_list=[64, 32, 8] is the 100-64-32-8-32-64-100 network
        # (PyOD puts a ReLU on the code too); [64, 32] would have no 8-unit code.
        # preprocessing=False: the data are standardised already, as for the others.
        detector = AutoEncoder(
            hidden_neuron_list=[*HIDDEN_LAYER_SIZES, N_COMPONENTS],
            hidden_activation_name="relu",
            batch_norm=False,
            dropout_rate=0.0,
            preprocessing=False,
            lr=LEARNING_RATE,
            optimizer_params={"weight_decay": 0.0},
            batch_size=BATCH_SIZE,
            epoch_num=epochs,
            device="cpu",
            random_state=0,
            verbose=0,
        )
        return detector.fit(X)

    def encode(detector, X):
        # PyOD exposes no encoder: its per-row inference is decision_function.
        return detector.decision_function(X)

    return fit, encode


def pca():
    from sklearn.decomposition import PCA

    def fit(X, epochs):
        return PCA(n_components=N_COMPONENTS, random_state=0).fit(X)

    def encode(model, X):
        return model.transform(X)

    return fit, encode


CONTENDERS = {
    "minimal": minimal,
    "minimal-vae": minimal_vae,
    "skvae-ae": skvae_ae,
    "skvae-vae": skvae_vae,
    "skorch": skorch_ae,
    "pyod-ae": pyod_ae,
    "pca": pca,
}
# Passes over the data per fit, for the training throughput; PCA makes one.
SINGLE_PASS = {"pca"}
NOTES = {
    "skorch": "encode = net.predict with the module switched to return the code (encoder only); "
    "skorch infers batch_size=256 rows at a time",
    "pyod-ae": "fit includes PyOD scoring the training rows (decision_scores_) and drops each epoch's "
    "last incomplete batch; encode = decision_function (no encoder API: full reconstruction + distance)",
    "pca": "train rows/s counts one pass over the data",
}


# -- worker side: one measurement in this fresh process -------------------------


def worker_fit(name, n_samples, epochs, threads):
    """Fit on n_samples rows and encode them; time both and measure peak RSS."""
    try:
        fit, encode = CONTENDERS[name]()
    except ImportError as exc:
        return {"skipped": f"{type(exc).__name__}: {exc}"}
    limit_torch_threads(threads)
    X = make_data(n_samples)
    # An untimed fit of 1,024 rows first pays the once-per-process costs:
    # torch imports torch._dynamo with the first optimizer (seconds, ~80 MB),
    # PyOD JIT-compiles its numba distance, kernels set themselves up on their
    # first call. The latency table counts them; here they would weigh on
    # small fits as if they were a cost per row.
    fit(X[:1024], 1)
    gc.collect()
    rss_before = peak_rss_mb()

    tic, cpu_tic = time.perf_counter(), time.process_time()
    model = fit(X, epochs)
    fit_s, fit_cpu_s = time.perf_counter() - tic, time.process_time() - cpu_tic
    rss_after = peak_rss_mb()

    tic = time.perf_counter()
    encode(model, X)
    encode_s = time.perf_counter() - tic
    return {
        "fit_s": fit_s,
        "fit_cpu_s": fit_cpu_s,
        "encode_s": encode_s,
        "rss_baseline_mb": rss_before,
        "rss_peak_mb": rss_after,
        "rss_delta_mb": rss_after - rss_before,
    }


def worker_latency(name, threads):
    """Import time, then first and second fit of a tiny problem (512 x 10, 1 epoch).

    The first fit includes the once-per-process costs that ``worker_fit``'s
    warm-up fit pays before it measures.
    """
    tic = time.perf_counter()
    try:
        fit, encode = CONTENDERS[name]()
    except ImportError as exc:
        return {"skipped": f"{type(exc).__name__}: {exc}"}
    import_s = time.perf_counter() - tic
    limit_torch_threads(threads)
    X = make_data(512, n_features=10, rank=2)
    timings = {"import_s": import_s}
    for key in ("first_fit_s", "second_fit_s"):
        tic = time.perf_counter()
        model = fit(X, 1)
        timings[key] = time.perf_counter() - tic
    tic = time.perf_counter()
    encode(model, X)
    timings["encode_s"] = time.perf_counter() - tic
    return timings


def worker_import():
    """Time ``import skvae``, split into numpy, torch, scikit-learn and skvae's own modules."""
    tic = time.perf_counter()
    import numpy  # noqa: F401

    numpy_done = time.perf_counter()
    import torch  # noqa: F401

    torch_done = time.perf_counter()
    # The scikit-learn modules that skvae imports.
    import sklearn.base  # noqa: F401
    import sklearn.exceptions  # noqa: F401
    import sklearn.utils._param_validation  # noqa: F401
    import sklearn.utils.validation  # noqa: F401

    sklearn_done = time.perf_counter()
    import skvae  # noqa: F401

    done = time.perf_counter()
    return {
        "total_s": done - tic,
        "numpy_s": numpy_done - tic,
        "torch_s": torch_done - numpy_done,
        "sklearn_s": sklearn_done - torch_done,
        "skvae_own_s": done - sklearn_done,
    }


def run_worker(args):
    if args.worker == "import":
        result = worker_import()
    elif args.task == "latency":
        result = worker_latency(args.worker, args.threads)
    else:
        result = worker_fit(args.worker, args.n_samples, args.epochs, args.threads)
    print(json.dumps(result))


# -- driver side: spawn workers, take medians, print tables ------------------------


def spawn(worker, *, task="fit", n_samples=0, epochs=0, threads=1):
    """Run one worker in a fresh interpreter and return its JSON result."""
    env = dict(os.environ)
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[variable] = str(threads)
    command = [sys.executable, os.path.abspath(__file__), "--worker", worker, "--task", task]
    command += ["--n-samples", str(n_samples), "--epochs", str(epochs), "--threads", str(threads)]
    completed = subprocess.run(command, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        last_line = (completed.stderr.strip().splitlines() or ["no message"])[-1]
        return {"skipped": f"worker failed: {last_line}"}
    return json.loads(completed.stdout.strip().splitlines()[-1])


def run_repeated(jobs, repeats):
    """Run each job ``repeats`` times, round-robin so that machine noise is spread
    over all of them. Returns {key: list of results}, or {key: [skip message]}."""
    results = {key: [] for key in jobs}
    for _ in range(repeats):
        for key, job in jobs.items():
            if results[key] and "skipped" in results[key][0]:
                continue
            result = job()
            results[key] = [result] if "skipped" in result else [*results[key], result]
    return results


def median(runs, key):
    return statistics.median(run[key] for run in runs)


def print_table(headers, rows):
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    line = " | ".join(f"{header:<{width}}" for header, width in zip(headers, widths, strict=True))
    print(line)
    print("-+-".join("-" * width for width in widths))
    for row in rows:
        cells = [f"{row[0]:<{widths[0]}}"] + [
            f"{cell:>{width}}" for cell, width in zip(row[1:], widths[1:], strict=True)
        ]
        print(" | ".join(cells))


def print_machine(threads):
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            cpu = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    versions = []
    for package in ("torch", "numpy", "scikit-learn", "skvae", "skorch", "pyod"):
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} (not installed)")
    print(f"CPU: {cpu} ({os.cpu_count()} logical CPUs), {platform.system()} {platform.machine()}")
    print(f"Python {platform.python_version()}; " + ", ".join(versions))
    print(
        f"Threads: {threads} (torch.set_num_threads in each worker; "
        "OMP/MKL/OPENBLAS_NUM_THREADS in its environment)"
    )
    print()


def report_import(args):
    runs = run_repeated({"import": lambda: spawn("import", threads=args.threads)}, args.repeats)["import"]
    parts = {
        "numpy_s": "numpy s",
        "torch_s": "torch s",
        "sklearn_s": "sklearn s",
        "skvae_own_s": "skvae's own s",
    }
    print(f"import skvae in a fresh process (median of {args.repeats}):")
    print_table(
        ["import", "total s", *parts.values()],
        [["skvae", f"{median(runs, 'total_s'):.3f}", *(f"{median(runs, part):.3f}" for part in parts)]],
    )
    print()


def report_latency(args, names):
    jobs = {name: lambda name=name: spawn(name, task="latency", threads=args.threads) for name in names}
    results = run_repeated(jobs, args.repeats)
    rows, skipped = [], []
    for name, runs in results.items():
        if "skipped" in runs[0]:
            skipped.append(f"{name}: {runs[0]['skipped']}")
            continue
        rows.append(
            [name]
            + [f"{median(runs, key):.3f}" for key in ("import_s", "first_fit_s", "second_fit_s", "encode_s")]
        )
    print(
        "First-fit latency: a tiny fit (512 rows x 10 features, 1 epoch) in a fresh process, "
        f"median of {args.repeats}:"
    )
    print_table(["contender", "import s", "first fit s", "second fit s", "first encode s"], rows)
    for line in skipped:
        print(f"  skipped {line}")
    print()


def report_comparison(args, names):
    n, epochs = args.n_samples, args.epochs
    jobs = {
        name: lambda name=name: spawn(name, n_samples=n, epochs=epochs, threads=args.threads)
        for name in names
    }
    results = run_repeated(jobs, args.repeats)
    summary = {
        name: {key: median(runs, key) for key in runs[0]}
        for name, runs in results.items()
        if "skipped" not in runs[0]
    }
    reference = summary.get("minimal")

    def ratio(name, key, invert=False):
        numerator, denominator = summary[name][key], reference[key] if reference else 0.0
        if invert:
            numerator, denominator = denominator, numerator
        return f"{numerator / denominator:.3g}x" if denominator > 0 else "n/a"

    rows = []
    for name, stats in summary.items():
        passes = 1 if name in SINGLE_PASS else epochs
        rows.append(
            [
                name + ("*" if name in NOTES else ""),
                f"{stats['fit_s']:.2f}",
                f"{stats['fit_cpu_s']:.2f}",
                ratio(name, "fit_s"),
                f"{n * passes / stats['fit_s']:,.0f}",
                f"{stats['encode_s']:.4f}",
                f"{n / stats['encode_s']:,.0f}",
                ratio(name, "encode_s", invert=True),
                f"{stats['rss_delta_mb']:.1f}",
                ratio(name, "rss_delta_mb"),
                f"{stats['rss_peak_mb']:.0f}",
            ]
        )
    print(
        f"Fit {n:,} x {N_FEATURES} float32 rows, {epochs} epochs, batch {BATCH_SIZE}, "
        f"then encode them; median of {args.repeats} fresh processes:"
    )
    print_table(
        [
            "contender",
            "fit s",
            "fit CPU s",
            "fit / minimal",
            "train rows/s",
            "encode s",
            "encode rows/s",
            "encode vs minimal",
            "peak RSS delta MB",
            "RSS / minimal",
            "abs peak MB",
        ],
        rows,
    )
    print(
        "  fit s is wall time (the ratio and rows/s use it); fit CPU s is the process's CPU time, "
        "which other processes on the machine inflate less"
    )
    print(
        "  fit / minimal, RSS / minimal: above 1 is slower / more memory; "
        "encode vs minimal: throughput ratio, below 1 is slower"
    )
    if {"skvae-vae", "minimal-vae"} <= summary.keys():
        vae_ratio = summary["skvae-vae"]["fit_s"] / summary["minimal-vae"]["fit_s"]
        print(f"  skvae-vae fit / minimal-vae fit: {vae_ratio:.3g}x (the same model by hand)")
    for name, note in NOTES.items():
        if name in summary:
            print(f"  * {name}: {note}")
    for name, runs in results.items():
        if "skipped" in runs[0]:
            print(f"  skipped {name}: {runs[0]['skipped']}")
    print(
        "  fit seconds of each run: "
        + "; ".join(f"{name} " + " ".join(f"{run['fit_s']:.2f}" for run in results[name]) for name in summary)
    )
    print()


def report_scaling(args):
    sizes, epochs = args.scaling_sizes, args.scaling_epochs
    jobs = {n: lambda n=n: spawn("skvae-ae", n_samples=n, epochs=epochs, threads=args.threads) for n in sizes}
    results = run_repeated(jobs, args.repeats)
    rows = []
    for n, runs in results.items():
        if "skipped" in runs[0]:
            print(f"skipped: {runs[0]['skipped']}")
            return
        fit_s, delta = median(runs, "fit_s"), median(runs, "rss_delta_mb")
        x_mb = n * N_FEATURES * 4 / 1e6
        rows.append(
            [
                f"{n:,}",
                f"{fit_s:.2f}",
                f"{median(runs, 'fit_cpu_s'):.2f}",
                f"{fit_s / (n * epochs) * 1e6:.2f}",
                f"{n * epochs / fit_s:,.0f}",
                f"{delta:.1f}",
                f"{x_mb:.0f}",
                f"{delta / x_mb:.2f}",
                f"{median(runs, 'rss_peak_mb'):.0f}",
            ]
        )
    print(
        f"skvae AutoencoderTransformer scaling: {N_FEATURES} features, {epochs} epoch(s), "
        f"batch {BATCH_SIZE}; median of {args.repeats} fresh processes:"
    )
    print_table(
        [
            "rows",
            "fit s",
            "fit CPU s",
            "us / row / epoch",
            "train rows/s",
            "peak RSS delta MB",
            "X float32 MB",
            "delta / X",
            "abs peak MB",
        ],
        rows,
    )
    print()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Speed and memory of skvae's estimators against a minimal torch loop, "
        "skorch, PyOD and PCA; each measurement in a fresh process, median of --repeats runs.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--n-samples", type=int, default=50_000, metavar="N", help="rows of synthetic data in the comparison"
    )
    parser.add_argument("--epochs", type=int, default=5, metavar="N", help="epochs in the comparison")
    parser.add_argument(
        "--repeats", type=int, default=3, metavar="N", help="fresh-process runs per measurement (median)"
    )
    parser.add_argument(
        "--threads", type=int, default=1, metavar="N", help="torch and BLAS threads in every worker"
    )
    parser.add_argument(
        "--contenders",
        nargs="+",
        choices=list(CONTENDERS),
        default=list(CONTENDERS),
        metavar="NAME",
        help=f"contenders to compare, among {', '.join(CONTENDERS)}",
    )
    parser.add_argument(
        "--scaling",
        action="store_true",
        help="instead of the comparison, time skvae-ae's fit and peak RSS over --scaling-sizes rows",
    )
    parser.add_argument(
        "--scaling-sizes",
        type=int,
        nargs="+",
        default=[10_000, 100_000, 1_000_000],
        metavar="N",
        help="row counts for --scaling",
    )
    parser.add_argument(
        "--scaling-epochs", type=int, default=1, metavar="N", help="epochs per fit for --scaling"
    )
    parser.add_argument(
        "--worker",
        choices=[*CONTENDERS, "import"],
        metavar="NAME",
        help="internal: measure one contender in this process and print a JSON line",
    )
    parser.add_argument(
        "--task", choices=["fit", "latency"], default="fit", help="internal: what --worker measures"
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        run_worker(args)
        return
    print_machine(args.threads)
    if args.scaling:
        report_scaling(args)
        return
    report_import(args)
    report_latency(args, args.contenders)
    report_comparison(args, args.contenders)


if __name__ == "__main__":
    main()
