"""VAETransformer as a density model: held-out log-likelihood next to PCA and FactorAnalysis.

Two parts (prints Markdown tables):

* digits: scikit-learn's digits, dequantised as (pixels + u) / 17 with u ~ U[0, 1)
  drawn once, a stratified 1437/360 split, 8 components. Log-likelihoods in nats
  per row on the held-out rows; reconstruction error next to PCA's.
* mnist: ../shared/data/mnist.npz, Bernoulli VAE trained with dynamic
  binarisation (each epoch a fresh x ~ Bernoulli(pixel / 255), fed to
  ``partial_fit``) within a time budget; the test set is binarised once (seed 0).
  Test log-likelihood by importance sampling with K samples (K=5000 as in Burda
  et al., 2016, on a subset of test rows if asked), next to published numbers.

    python benchmarks/bench_vae_quality.py digits
    python benchmarks/bench_vae_quality.py mnist --minutes 15 --k 5000 --test-rows 1000
"""

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA, FactorAnalysis
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skvae import VAETransformer

DEFAULT_MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist.npz"
warnings.filterwarnings("ignore", category=ConvergenceWarning)


def reconstruction_mse(model, X):
    return float(np.mean((model.inverse_transform(model.transform(X)) - X) ** 2))


def digits(args):
    data = load_digits()
    noise = np.random.RandomState(0).uniform(size=data.data.shape)
    X_train, X_test = train_test_split(
        (data.data + noise) / 17, test_size=360, stratify=data.target, random_state=0
    )
    pca = PCA(n_components=8).fit(X_train)
    fa = FactorAnalysis(n_components=8).fit(X_train)
    tic = time.perf_counter()
    vae = VAETransformer(n_components=8, random_state=args.seed).fit(X_train)
    seconds = time.perf_counter() - tic
    rows = [
        ("PCA(8).score", pca.score(X_test), reconstruction_mse(pca, X_test), "-"),
        ("FactorAnalysis(8).score", fa.score(X_test), "-", "-"),
    ]
    for k in (1, 100, 1000):
        name = "VAETransformer(8), ELBO (K=1)" if k == 1 else f"VAETransformer(8), K={k}"
        vae.set_params(n_importance_samples=k)
        rows.append((name, vae.score(X_test), reconstruction_mse(vae, X_test) if k == 1 else "-", seconds))
    rows.append(("hand-written 64-128-8 VAE (issue), IW K=100", 55.7, "-", "-"))
    print(f"digits, {len(X_train)}/{len(X_test)} rows, held-out nats per row (higher is better)\n")
    print("| model | log-likelihood | reconstruction MSE | fit s |")
    print("|---|---|---|---|")
    for name, score, mse, fit_seconds in rows:
        mse = f"{mse:.5f}" if isinstance(mse, float) else mse
        fit_seconds = f"{fit_seconds:.1f}" if isinstance(fit_seconds, float) else fit_seconds
        print(f"| {name} | {score:.2f} | {mse} | {fit_seconds} |")


def mnist(args):
    with np.load(args.data) as data:
        X_train = data["x_train"].reshape(-1, 784).astype(np.float32) / 255
        X_test = data["x_test"].reshape(-1, 784).astype(np.float32) / 255
    rng = np.random.RandomState(0)
    test_binary = (rng.uniform(size=X_test.shape) < X_test).astype(np.float32)[: args.test_rows]
    vae = VAETransformer(
        n_components=args.n_components,
        hidden_layer_sizes=(512, 256),
        likelihood="bernoulli",
        learning_rate_init=1e-3,
        batch_size=128,
        n_importance_samples=args.k,
        random_state=args.seed,
    )
    tic, epoch = time.perf_counter(), 0
    while time.perf_counter() - tic < 60 * args.minutes and epoch < args.max_epochs:
        # Dynamic binarisation: a new binary sample of the training set each epoch.
        vae.partial_fit((rng.uniform(size=X_train.shape) < X_train).astype(np.float32))
        epoch += 1
        if epoch % 10 == 0:
            print(
                f"epoch {epoch}: -ELBO {vae.loss_curve_[-1]:.2f} nats, {time.perf_counter() - tic:.0f}s",
                flush=True,
            )
    train_seconds = time.perf_counter() - tic
    tic = time.perf_counter()
    log_likelihood = vae.score(test_binary)
    vae.set_params(n_importance_samples=1)
    elbo = vae.score(test_binary)
    score_seconds = time.perf_counter() - tic
    pca = PCA(n_components=args.n_components).fit(X_train)
    print(
        f"\nMNIST, Bernoulli VAE 784-512-256-{args.n_components}, dynamic binarisation, "
        f"{epoch} epochs in {train_seconds / 60:.1f} min ({torch.get_num_threads()} threads); "
        f"test rows: {len(test_binary)}; scoring took {score_seconds:.0f}s\n"
    )
    print("| model | test NLL (nats) |")
    print("|---|---|")
    print(f"| skvae VAETransformer, importance-weighted K={args.k} | {-log_likelihood:.2f} |")
    print(f"| skvae VAETransformer, ELBO (K=1) | {-elbo:.2f} |")
    print("| Pythae VAE (published) | 89.78 |")
    print("| Burda et al. 2016, VAE, one stochastic layer, K=5000 | 86.76 |")
    print("| Burda et al. 2016, IWAE k=50 | 84.78 |")
    vae.set_params(n_importance_samples=args.k)
    print(
        f"\nreconstruction MSE on the binarised test rows: VAE {reconstruction_mse(vae, test_binary):.4f}, "
        f"PCA({args.n_components}) {reconstruction_mse(pca, test_binary):.4f}"
    )


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("part", choices=["digits", "mnist"])
    parser.add_argument("--data", type=Path, default=DEFAULT_MNIST, help="path to mnist.npz")
    parser.add_argument("--minutes", type=float, default=15.0, help="MNIST training budget")
    parser.add_argument("--max-epochs", type=int, default=1000)
    parser.add_argument("--n-components", type=int, default=32)
    parser.add_argument("--k", type=int, default=5000, help="importance samples for the test NLL")
    parser.add_argument(
        "--test-rows", type=int, default=10000, help="score only the first rows of the test set"
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.part == "digits":
        digits(args)
    else:
        mnist(args)


if __name__ == "__main__":
    main()
