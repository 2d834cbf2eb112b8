"""Which score of a fitted VAE ranks anomalies best? An ablation on ADBench data.

Same protocol as ``bench_anomaly.py`` (its data sets, subsampling, seeds and
70/30 splits; a StandardScaler fitted on the training part). For each split
one ``VAEOutlierDetector`` (default parameters but ``--max-iter``,
``random_state=seed``) is fitted and its test rows are scored in several ways:

  log p(x)      the detector's score_samples: importance-weighted log-likelihood
  log p(x|mu)   the reconstruction term alone, at the posterior mean
  -KL           minus KL(q(z|x) || N(0, I)): how unusual the row's code is
  min z         the smaller of the two terms above, each standardised by its
                mean and standard deviation on the training rows

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_anomaly_scores.py            # the 12 default data sets
    OMP_NUM_THREADS=1 python benchmarks/bench_anomaly_scores.py --others   # every other data set

This script is no test: it prints a table of mean ROC-AUC and asserts nothing.
"""

import argparse
import warnings
from pathlib import Path

import bench_anomaly
import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

import skvae

SCORES = ["log p(x)", "log p(x|mu)", "-KL", "min z"]


def score_variants(detector, X_train, X_test):
    """Every variant's score of the test rows (higher = more normal)."""

    def terms(X):
        with torch.inference_mode():
            X = torch.as_tensor(X, dtype=torch.float32)
            mean, log_var = detector.encoder_(X)
            reconstruction = detector.likelihood_.log_prob(X, detector.decoder_(mean))
            kl = 0.5 * (mean.square() + log_var.exp() - 1.0 - log_var).sum(dim=1)
        return reconstruction.numpy(), -kl.numpy()

    (train_rec, train_kl), (test_rec, test_kl) = terms(X_train), terms(X_test)

    def standardised(test, train):
        return (test - train.mean()) / train.std()

    return {
        "log p(x)": detector.score_samples(X_test),
        "log p(x|mu)": test_rec,
        "-KL": test_kl,
        "min z": np.minimum(standardised(test_rec, train_rec), standardised(test_kl, train_kl)),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=bench_anomaly.DEFAULT_DATA_DIR)
    parser.add_argument(
        "--others", action="store_true", help="the data sets that bench_anomaly.py does not run by default"
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--max-iter", type=int, help="epochs of the detector (default: its default)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")

    files = bench_anomaly.find_dataset_files(
        args.data_dir, None if args.others else bench_anomaly.REFERENCE_DATASETS
    )
    if args.others:
        default = {name.lower() for name in bench_anomaly.REFERENCE_DATASETS}
        files = [path for path in files if bench_anomaly.dataset_name(path).lower() not in default]

    rows = []
    with threadpool_limits(limits=1):
        for path in files:
            dataset = bench_anomaly.load_dataset(path, 10_000)
            aucs = {name: [] for name in SCORES}
            for seed in args.seeds:
                X_train, X_test, _, y_test = train_test_split(
                    dataset.X,
                    dataset.y,
                    test_size=bench_anomaly.TEST_SIZE,
                    stratify=dataset.y,
                    random_state=seed,
                )
                scaler = StandardScaler().fit(X_train)
                X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
                detector = skvae.VAEOutlierDetector(random_state=seed)
                if args.max_iter is not None:
                    detector.set_params(max_iter=args.max_iter)
                detector.fit(X_train)
                for name, scores in score_variants(detector, X_train, X_test).items():
                    aucs[name].append(roc_auc_score(y_test, -scores))
            rows.append([dataset.name] + [f"{np.mean(aucs[name]):.3f}" for name in SCORES])
            print(f"{dataset.name} done", flush=True)

    means = [f"{np.mean([float(row[i + 1]) for row in rows]):.3f}" for i in range(len(SCORES))]
    print(f"\nROC-AUC on the test part, mean over seeds {', '.join(map(str, args.seeds))}:\n")
    print(bench_anomaly.format_table(["data set", *SCORES], [*rows, ["mean", *means]], markdown=False))


if __name__ == "__main__":
    main()
