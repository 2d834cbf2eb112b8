"""Networks beyond the MLP, on MNIST: error (or test NLL) against training seconds, and the MLP's overhead.

Three parts (each prints Markdown tables):

* ae: autoencoders with a 30-d code on ../shared/data/mnist.npz, pixels / 255, trained on the
  60,000 training images one epoch at a time (``partial_fit``) until ``--minutes`` of training
  have passed; after every epoch the squared error per test image (all 10,000) is measured, outside
  the timed part. Models: skvae's default MLP (``hidden_layer_sizes=(128,)``), and
  ``network="conv"`` with its default ``hidden_layer_sizes`` and with ``--conv-channels``. The
  summary compares the errors reached at the same training time.
* vae: Bernoulli VAEs (32-d code) on dynamically binarised MNIST (each epoch a fresh
  x ~ Bernoulli(pixel / 255)); the test set is binarised once (seed 0). After training, the test
  NLL by importance sampling with ``--k`` samples on the first ``--test-rows`` test images. The MLP
  is bench_vae_quality.py's 784-512-256-32; the conv VAE is ``network="conv"`` with
  ``--conv-channels``.
* series: UCR time series that ship with sktime (GunPoint, ItalyPowerDemand, ArrowHead, OSULeaf):
  codes of the same size from PCA and from MLP and convolutional autoencoders and VAEs, each fitted
  without labels on all series of a set; the accuracy of a k-NN classifier (k = 1 and 5) fitted on
  the codes of the archive's training series and scored on those of its test series.
* overhead: ``network="mlp"`` against another checkout of skvae (``--baseline``, e.g. a worktree of
  the commit before the network parameter): the same outputs bit for bit, and fit times, run
  interleaved in fresh processes, medians of ``--repeats``.

Times are CPU-process seconds and wall seconds of the training calls alone, with ``--threads``
torch threads. The training budget counts CPU seconds divided by the threads (the wall time of an
unloaded machine), so that other jobs on a shared machine do not shorten it; the curves compare
models at equal CPU seconds.

    python benchmarks/bench_networks.py ae --minutes 15 --threads 2
    python benchmarks/bench_networks.py vae --minutes 15 --k 5000 --test-rows 1000
    python benchmarks/bench_networks.py series --threads 1
    python benchmarks/bench_networks.py overhead --baseline /path/to/old/checkout
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

DEFAULT_MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist.npz"
warnings.filterwarnings("ignore", category=ConvergenceWarning)


def load_mnist(path):
    with np.load(path) as data:
        X_train = data["x_train"].reshape(-1, 784).astype(np.float32) / 255
        X_test = data["x_test"].reshape(-1, 784).astype(np.float32) / 255
    return X_train, X_test


def squared_error(model, X):
    return float(((model.inverse_transform(model.transform(X)) - X) ** 2).sum(axis=1).mean())


def train_for(model, next_epoch, minutes, max_epochs, evaluate):
    """Epochs of ``partial_fit`` until ``minutes`` of training compute.

    Returns (epoch, CPU s, wall s, evaluate(model)) after each epoch.
    """
    curve, cpu, wall = [], 0.0, 0.0
    for epoch in range(1, max_epochs + 1):
        X = next_epoch()
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        model.partial_fit(X)
        cpu += time.process_time() - cpu_start
        wall += time.perf_counter() - wall_start
        curve.append((epoch, cpu, wall, evaluate(model)))
        print(f"  epoch {epoch}: {curve[-1][3]:.3f} after {wall:.0f} s", file=sys.stderr, flush=True)
        # A budget of compute, not of wall time, which other jobs on a shared machine stretch.
        if cpu / torch.get_num_threads() >= 60 * minutes:
            break
    return curve


def at_time(curve, seconds):
    """The value reached by ``seconds`` of training (CPU), or None if the first epoch took longer.

    CPU seconds of the process rather than wall seconds: on a shared machine
    the wall time of the same work varies with the other jobs' load.
    """
    reached = [value for _, cpu, _, value in curve if cpu <= seconds]
    return reached[-1] if reached else None


def print_curves(curves, unit):
    for name, curve in curves.items():
        print(f"\n{name}: {unit} after each epoch\n")
        print(f"| epoch | training s (wall) | training s (CPU) | {unit} |")
        print("|---|---|---|---|")
        for epoch, cpu, wall, value in curve:
            print(f"| {epoch} | {wall:.0f} | {cpu:.0f} | {value:.3f} |")


def print_same_time(curves, unit, reference):
    longest = max(curve[-1][1] for curve in curves.values())
    checkpoints = [s for s in (30, 60, 120, 300, 600, 900, 1800) if s < longest] + [longest]
    print(f"\n{unit} reached by the same training time (CPU s); ratio to {reference}\n")
    print("| model | " + " | ".join(f"{s:.0f} s" for s in checkpoints) + " |")
    print("|---|" + "---|" * len(checkpoints))
    for name, curve in curves.items():
        cells = []
        for seconds in checkpoints:
            value, base = at_time(curve, seconds), at_time(curves[reference], seconds)
            ratio = f" ({value / base:.2f}x)" if value is not None and base and name != reference else ""
            cells.append("-" if value is None else f"{value:.2f}{ratio}")
        print(f"| {name} | " + " | ".join(cells) + " |")


def autoencoders(args):
    from skvae import AutoencoderTransformer

    X_train, X_test = load_mnist(args.data)
    conv = {"network": "conv", "input_shape": (1, 28, 28)}
    models = {
        "MLP (128,)": AutoencoderTransformer(n_components=30, random_state=args.seed),
        "conv, default (128,)": AutoencoderTransformer(n_components=30, random_state=args.seed, **conv),
        f"conv {tuple(args.conv_channels)}": AutoencoderTransformer(
            n_components=30, hidden_layer_sizes=tuple(args.conv_channels), random_state=args.seed, **conv
        ),
    }
    curves = {}
    for name, model in models.items():
        if args.models and not any(part in name for part in args.models):
            continue
        print(f"{name}", file=sys.stderr)
        curves[name] = train_for(
            model, lambda: X_train, args.minutes, args.max_epochs, lambda m: squared_error(m, X_test)
        )
    print(
        f"MNIST autoencoders, 30-d code, squared error per test image (10,000 images), "
        f"{torch.get_num_threads()} torch thread(s), budget {args.minutes} min per model"
    )
    print("references: PCA(30) 13.87; Hinton & Salakhutdinov 2006 deep autoencoder 3.00")
    print_curves(curves, "squared error per image")
    if "MLP (128,)" in curves:
        print_same_time(curves, "squared error per image", "MLP (128,)")
    if args.json:
        args.json.write_text(json.dumps(curves, indent=1))


def vaes(args):
    from skvae import VAETransformer

    X_train, X_test = load_mnist(args.data)
    rng = np.random.RandomState(0)
    test_binary = (rng.uniform(size=X_test.shape) < X_test).astype(np.float32)[: args.test_rows]
    shared = {
        "n_components": 32,
        "likelihood": "bernoulli",
        "learning_rate_init": 1e-3,
        "batch_size": 128,
        "random_state": args.seed,
    }
    models = {
        "MLP (512, 256)": VAETransformer(hidden_layer_sizes=(512, 256), **shared),
        f"conv {tuple(args.conv_channels)}": VAETransformer(
            network="conv", input_shape=(1, 28, 28), hidden_layer_sizes=tuple(args.conv_channels), **shared
        ),
    }
    curves, results = {}, {}
    for name, model in models.items():
        if args.models and not any(part in name for part in args.models):
            continue
        print(f"{name}", file=sys.stderr)
        train_rng = np.random.RandomState(args.seed)
        # The curve follows the ELBO on the test rows (K=1, cheap); the final figure is importance-weighted.
        model.set_params(n_importance_samples=1)
        curves[name] = train_for(
            model,
            lambda rng=train_rng: (rng.uniform(size=X_train.shape) < X_train).astype(np.float32),
            args.minutes,
            args.max_epochs,
            lambda m: -m.score(test_binary),
        )
        model.set_params(n_importance_samples=args.k)
        tic = time.perf_counter()
        results[name] = (-model.score(test_binary), curves[name][-1], time.perf_counter() - tic)
    print(
        f"MNIST Bernoulli VAEs, 32-d code, dynamic binarisation, {torch.get_num_threads()} torch thread(s), "
        f"budget {args.minutes} min per model; test NLL on the first {len(test_binary)} test images"
    )
    print("references: Burda et al. 2016 one-layer VAE 86.76; a convolutional VAE (vel library) 81.0\n")
    print(f"| model | epochs | training s (wall) | test NLL, K={args.k} | -ELBO (K=1) | scoring s |")
    print("|---|---|---|---|---|---|")
    for name, (nll, (epoch, _, wall, elbo), seconds) in results.items():
        print(f"| {name} | {epoch} | {wall:.0f} | {nll:.2f} | {elbo:.2f} | {seconds:.0f} |")
    print_curves(curves, "-ELBO on the test images (nats)")
    if args.json:
        args.json.write_text(json.dumps({"curves": curves, "nll": {k: v[0] for k, v in results.items()}}))


def knn_accuracies(model, X_train, y_train, X_test, y_test):
    """Test accuracy of 1-NN and 5-NN classifiers on the codes of a fitted model."""
    from sklearn.neighbors import KNeighborsClassifier

    codes_train, codes_test = model.transform(X_train), model.transform(X_test)
    return [KNeighborsClassifier(k).fit(codes_train, y_train).score(codes_test, y_test) for k in (1, 5)]


def series(args):
    """k-NN accuracy on codes of UCR series: PCA against MLP and convolutional networks, same dimension."""
    from sklearn.decomposition import PCA
    from sktime.datasets import load_UCR_UEA_dataset

    from skvae import AutoencoderTransformer, VAETransformer

    conv = {"network": "conv", "input_shape": (1, -1), "hidden_layer_sizes": (16, 32)}
    epochs = {} if args.max_iter is None else {"max_iter": args.max_iter}
    epochs_said = args.max_iter if epochs else "theirs (200)"
    models = {
        "AE, MLP": (AutoencoderTransformer, {}),
        "VAE, MLP": (VAETransformer, {}),
        "AE, conv (16, 32)": (AutoencoderTransformer, conv),
        "VAE, conv (16, 32)": (VAETransformer, conv),
    }
    print(
        "UCR series (from sktime's package): every model fitted without labels on all series of a data set; "
        "a k-NN classifier fitted on the codes of the archive's training series scores the codes of its test "
        f"series. skvae models: max_iter={epochs_said}, mean over seeds {args.seeds}.\n"
    )
    print("| data set | series x length | code size | model | 1-NN accuracy | 5-NN accuracy |")
    print("|---|---|---|---|---|---|")
    for name in args.series:
        X_train, y_train = load_UCR_UEA_dataset(name, split="train", return_X_y=True, return_type="numpy2D")
        X_test, y_test = load_UCR_UEA_dataset(name, split="test", return_X_y=True, return_type="numpy2D")
        X = np.vstack([X_train, X_test])
        split = (X_train, y_train, X_test, y_test)

        for n_components in args.code_sizes:
            rows = {"PCA": knn_accuracies(PCA(n_components).fit(X), *split)}
            for model_name, (estimator_class, params) in models.items():
                runs = []
                for seed in args.seeds:
                    model = estimator_class(n_components=n_components, random_state=seed, **params, **epochs)
                    runs.append(knn_accuracies(model.fit(X), *split))
                rows[model_name] = np.mean(runs, axis=0)
            for model_name, (one, five) in rows.items():
                shape = f"{X.shape[0]} x {X.shape[1]}"
                print(f"| {name} | {shape} | {n_components} | {model_name} | {one:.3f} | {five:.3f} |")


# -- overhead: the same script in fresh processes, on this checkout and on --baseline

_OVERHEAD_SCRIPT = """
import json, sys, time, warnings, numpy as np, torch
sys.path.insert(0, sys.argv[1])
warnings.simplefilter("ignore")
torch.set_num_threads(int(sys.argv[2]))
import skvae
from sklearn.datasets import load_digits
X = load_digits().data / 16
out, times = {}, {}
for cls in (skvae.AutoencoderTransformer, skvae.VAETransformer,
            skvae.AutoencoderOutlierDetector, skvae.VAEOutlierDetector):
    model = cls(n_components=8, max_iter=30, random_state=0)
    tic = time.perf_counter()
    model.fit(X)
    times[cls.__name__] = time.perf_counter() - tic
    out[cls.__name__] = np.concatenate([model.transform(X).ravel(), model.score_samples(X)])
np.savez(sys.argv[3], **out)
print(json.dumps(times))
"""


def overhead(args):
    if args.baseline is None:
        raise SystemExit("overhead needs --baseline: a checkout of skvae to compare with")
    here = Path(__file__).resolve().parents[1]
    checkouts = {"this checkout": here, "baseline": args.baseline.resolve()}
    times = {name: [] for name in checkouts}
    outputs = {}
    scratch = tempfile.TemporaryDirectory()
    for _ in range(args.repeats):
        for name, path in checkouts.items():  # interleaved: both see the same machine load
            out = Path(scratch.name) / f"{name.replace(' ', '_')}.npz"
            result = subprocess.run(
                [sys.executable, "-c", _OVERHEAD_SCRIPT, str(path), str(args.threads), str(out)],
                capture_output=True,
                text=True,
                check=True,
            )
            times[name].append(json.loads(result.stdout.strip().splitlines()[-1]))
            outputs[name] = dict(np.load(out))
    scratch.cleanup()
    print(
        f"fit of digits (1797 x 64), n_components=8, max_iter=30; "
        f"medians of {args.repeats} interleaved runs\n"
    )
    print("| estimator | this checkout s | baseline s | outputs bit-identical |")
    print("|---|---|---|---|")
    for estimator in outputs["baseline"]:
        same = np.array_equal(outputs["this checkout"][estimator], outputs["baseline"][estimator])
        medians = [statistics.median(run[estimator] for run in times[name]) for name in checkouts]
        print(f"| {estimator} | {medians[0]:.2f} | {medians[1]:.2f} | {same} |")


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("part", choices=["ae", "vae", "series", "overhead"])
    parser.add_argument("--data", type=Path, default=DEFAULT_MNIST, help="path to mnist.npz")
    parser.add_argument("--minutes", type=float, default=15.0, help="training budget per model")
    parser.add_argument("--max-epochs", type=int, default=1000)
    parser.add_argument("--conv-channels", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--models", nargs="*", help="only the models whose names contain one of these")
    parser.add_argument("--k", type=int, default=5000, help="importance samples for the VAEs' test NLL")
    parser.add_argument(
        "--test-rows", type=int, default=1000, help="test images the VAEs' NLL is measured on"
    )
    parser.add_argument(
        "--series", nargs="+", default=["GunPoint", "ItalyPowerDemand", "ArrowHead", "OSULeaf"]
    )
    parser.add_argument("--code-sizes", type=int, nargs="+", default=[2, 4, 8])
    parser.add_argument(
        "--max-iter", type=int, default=None, help="series: epochs of the skvae models (default: theirs)"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--baseline", type=Path, help="overhead: a checkout of skvae to compare with")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the curves here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    {"ae": autoencoders, "vae": vaes, "series": series, "overhead": overhead}[args.part](args)


if __name__ == "__main__":
    main()
