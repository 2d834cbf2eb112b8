"""Anomaly data sets the detectors' defaults were never chosen on, for ``bench_anomaly.py --data-dir``.

The defaults of the skvae detectors were chosen on the development half of the 30 ADBench sets in
``../shared/data/adbench``; the confirmation half says whether a choice carries over. This script
builds a third group from data that is neither, in the way public anomaly benchmarks (ODDS, ADBench)
turn classification data into anomaly data: one class, or a few, are the anomalies. Several have 25
to 37% anomalies, so the training rows are heavily contaminated, as in some public sets.

=====================  ===============================================================  =========
file                   anomalies (y = 1) among the other rows                           anomalies
=====================  ===============================================================  =========
101_mnist_digit0       MNIST's 10,000 test images (784 pixels in [0, 1]): the zeros     9.8%
102_sk_breast_cancer   scikit-learn's ``load_breast_cancer``: the malignant tumours     37.3%
103_sk_digits_0        scikit-learn's ``load_digits`` (8 x 8 pixels): the zeros         9.9%
104_sk_digits_4        the same: the fours                                              10.1%
105_sk_digits_8        the same: the eights                                             9.7%
106_sk_iris_virginica  ``load_iris``: Iris virginica                                    33.3%
107_sk_wine_class0     ``load_wine``: the first cultivar                                33.1%
108_tables_wine_red    ``tables/wine.csv`` (12 columns, ``color`` dropped): red wines    24.6%
=====================  ===============================================================  =========

Usage::

    python benchmarks/make_other_anomaly_sets.py /tmp/other_sets
    OMP_NUM_THREADS=1 python benchmarks/bench_anomaly.py --data-dir /tmp/other_sets

(``--data`` points at the shared data folder, for MNIST and the wine table.) Each file holds ``X``
(float64) and ``y`` (1 = anomaly), as ADBench's files do.
"""

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared/data"


def other_sets(data):
    """name -> (X, y) for every set in the module's table."""
    images = np.load(data / "mnist.npz")
    sets = {"101_mnist_digit0": (images["x_test"].reshape(-1, 28 * 28) / 255.0, images["y_test"] == 0)}
    cancer = load_breast_cancer()
    sets["102_sk_breast_cancer"] = cancer.data, cancer.target == 0
    digits = load_digits()
    for number, digit in zip((103, 104, 105), (0, 4, 8), strict=True):
        sets[f"{number}_sk_digits_{digit}"] = digits.data, digits.target == digit
    iris, wine = load_iris(), load_wine()
    sets["106_sk_iris_virginica"] = iris.data, iris.target == 2
    sets["107_sk_wine_class0"] = wine.data, wine.target == 0
    table = pd.read_csv(data / "tables" / "wine.csv")
    sets["108_tables_wine_red"] = table.drop(columns="color").to_numpy(), table["color"].to_numpy() == 1
    return sets


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", type=Path, help="folder to write the .npz files to")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, (X, y) in other_sets(args.data).items():
        np.savez(args.out / f"{name}.npz", X=np.asarray(X, dtype=np.float64), y=np.asarray(y, dtype=np.int64))
        print(f"{name:<22} {X.shape[0]:>6} rows {X.shape[1]:>4} columns {100 * np.mean(y):5.1f}% anomalies")


if __name__ == "__main__":
    main()
