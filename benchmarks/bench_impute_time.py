"""VAEImputer's fit and imputation time on tables wider than the issue's (issue #12: fit <= 30 s).

``bench_impute.py`` times the HI-VAE tables, the widest of which (adult) reaches the networks as 47
inputs. Tables nobody chose on may be wider, and a categorical column of k levels is k inputs. This
script generates mixed tables of a few shapes -- ``--rows`` rows (default 10,000) of numeric columns
and categorical columns of a number of levels, all driven by three latent factors, 20% of the cells
hidden at random -- and prints the CPU seconds of ``VAEImputer().fit`` and of ``transform`` on the
same table, one thread, the median of ``--repeats`` fits (seeds 0, 1, ...), each in this process after
an untimed warm-up fit. Shapes are ``NUMERIC,CATEGORICAL,LEVELS``::

    OMP_NUM_THREADS=1 python benchmarks/bench_impute_time.py
    OMP_NUM_THREADS=1 python benchmarks/bench_impute_time.py --shapes 58,0,0 0,23,5 --repeats 3

This script is no test: it prints a Markdown table and asserts nothing.
"""

import argparse
import statistics
import time
import warnings

import numpy as np
import pandas as pd
import torch
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from skvae import VAEImputer

DEFAULT_SHAPES = ["6,6,10", "58,0,0", "0,23,5", "20,20,10"]


def make_table(n_rows, n_numeric, n_categorical, n_levels, seed):
    """A table of numbers and categories that depend on three latent factors, 20% of its cells NaN."""
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(n_rows, 3))
    columns = {}
    for j in range(n_numeric):
        columns[f"number{j}"] = factors @ rng.normal(size=3) + 0.3 * rng.normal(size=n_rows)
    for j in range(n_categorical):
        levels = (factors @ rng.normal(size=(3, n_levels)) + rng.gumbel(size=(n_rows, n_levels))).argmax(
            axis=1
        )
        columns[f"category{j}"] = pd.Categorical.from_codes(levels, [f"level{i}" for i in range(n_levels)])
    table = pd.DataFrame(columns)
    return table.mask(rng.random(table.shape) < 0.2)


def cpu_seconds(method, *args):
    start = time.process_time()
    method(*args)
    return time.process_time() - start


def time_shape(n_rows, shape, repeats):
    n_numeric, n_categorical, n_levels = shape
    fits, transforms = [], []
    for seed in range(repeats):
        table = make_table(n_rows, n_numeric, n_categorical, n_levels, seed)
        imputer = VAEImputer(random_state=seed)
        fits.append(cpu_seconds(imputer.fit, table))
        transforms.append(cpu_seconds(imputer.transform, table))
    return imputer._table.width, statistics.median(fits), statistics.median(transforms)


def parse_shape(text):
    numbers = tuple(int(part) for part in text.split(","))
    if len(numbers) != 3 or min(numbers) < 0 or numbers[0] + numbers[1] == 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give NUMERIC,CATEGORICAL,LEVELS, e.g. 6,6,10")
    return numbers


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shapes", nargs="+", type=parse_shape, default=[parse_shape(s) for s in DEFAULT_SHAPES]
    )
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=1, help="fits per shape (median)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.simplefilter("ignore", ConvergenceWarning)
    with threadpool_limits(limits=1):
        VAEImputer(max_iter=1).fit(make_table(200, 2, 1, 3, seed=0))  # torch's one-off start-up
        print(f"VAEImputer, {args.rows:,} rows, 20% of the cells hidden; CPU seconds, one thread\n")
        print("| numeric | categorical x levels | inputs | fit | transform | fit + transform |")
        print("|---:|---:|---:|---:|---:|---:|")
        for shape in args.shapes:
            width, fit, transform = time_shape(args.rows, shape, args.repeats)
            print(
                f"| {shape[0]} | {shape[1]} x {shape[2]} | {width} | {fit:.1f} | {transform:.1f} | "
                f"{fit + transform:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
