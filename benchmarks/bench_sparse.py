"""Sparse input: memory and speed of training on a CSR matrix, densified one batch at a time.

Three measurements, each printed as a table row:

  memory        one epoch (``max_iter=1``) of AutoencoderTransformer on a CSR
                float32 matrix of ``--rows`` x ``--columns`` at ``--density``
                (the issue's case: 1,000,000 x 20,000 at 0.05%, about 10 M
                non-zeros, 80 GB if dense). Reported: the matrix's own bytes
                (data, indices, indptr), the peak resident memory during the
                fit over the resident memory just before it (sampled every
                millisecond by a thread reading /proc/self/statm), their
                ratio, and rows per second. With ``--seconds S`` the epoch is
                cut short after S seconds by a KeyboardInterrupt (which fit
                takes as Ctrl-C: it keeps the weights so far and warns), and
                the rows are those of the batches taken until then: an epoch's
                memory is reached within its first batches (the permutation,
                the model, one dense batch and its activations), so a cut
                epoch measures it on a loaded machine in bounded time.
  throughput    the first ``--dense-rows`` rows of that matrix, one epoch fed
                sparse (CSR, densified a batch at a time by skvae), fed as the
                dense float32 array (fit's checks and statistics then pass over
                the dense array, and training slices ready tensors), and fed
                dense in chunks of one batch (200 rows, ``toarray`` of each,
                one ``partial_fit`` each: what a user without sparse support
                would write): rows per second of each.
  vs MLP        a smaller CSR matrix (``--small-rows`` x 2,000 at 1%): seconds
                per epoch of AutoencoderTransformer and of scikit-learn's
                MLPRegressor fitted X -> X (the same 2000-128-2-128-2000 ReLU
                network, Adam, batches of 200; MLPRegressor takes sparse X but
                needs the dense target, which is built outside the timing).

glibc's malloc raises its mmap threshold each time a large block is freed,
after which the batches' 16 MB blocks (a dense batch, the decoder's output
and its gradient) come from the heap and fragment it: resident memory then
creeps up with the batches. ``MALLOC_MMAP_THRESHOLD_=1048576`` fixes the
threshold and keeps an epoch's memory flat; run the script both ways.

Every fit: hidden_layer_sizes=(128,), n_components=2, batch_size=200, one
torch thread. The times are wall-clock on whatever else the machine runs.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_sparse.py
    OMP_NUM_THREADS=1 python benchmarks/bench_sparse.py --seconds 150
    MALLOC_MMAP_THRESHOLD_=1048576 OMP_NUM_THREADS=1 python benchmarks/bench_sparse.py --seconds 150

This script is no test: it prints a table and asserts nothing.
"""

import _thread
import argparse
import os
import resource
import threading
import time
import warnings

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor

from skvae import AutoencoderTransformer, _tensors

PAGE = os.sysconf("SC_PAGE_SIZE")


def random_csr(n_rows, n_columns, density, seed):
    """A float32 CSR matrix with ``density`` non-zeros, built without a dense or COO detour."""
    rng = np.random.default_rng(seed)
    per_row = rng.binomial(n_columns, density, size=n_rows)
    indptr = np.concatenate([[0], np.cumsum(per_row)]).astype(np.int32)
    indices = rng.integers(0, n_columns, size=indptr[-1], dtype=np.int32)
    data = rng.random(indptr[-1], dtype=np.float32)
    X = sp.csr_matrix((data, indices, indptr), shape=(n_rows, n_columns))
    X.sum_duplicates()  # a few rows draw a column twice
    return X


def nbytes(X):
    return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes


def rss():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


class PeakRSS:
    """The largest resident memory seen while the block runs."""

    def __enter__(self):
        self.peak, self._running = rss(), True
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self):
        while self._running:
            self.peak = max(self.peak, rss())
            time.sleep(0.001)

    def __exit__(self, *exc):
        self._running = False
        self._thread.join()
        self.peak = max(self.peak, rss())


class CountBatches:
    """Counts the batches the training loop takes from sparse rows (for rows/s of a cut epoch)."""

    def __enter__(self):
        self.rows, self._original = 0, _tensors.SparseRows.__getitem__

        def counted(rows_source, rows):
            batch = self._original(rows_source, rows)
            self.rows += batch.shape[0]
            return batch

        _tensors.SparseRows.__getitem__ = counted
        return self

    def __exit__(self, *exc):
        _tensors.SparseRows.__getitem__ = self._original


def autoencoder():
    return AutoencoderTransformer(
        n_components=2, hidden_layer_sizes=(128,), batch_size=200, max_iter=1, random_state=0
    )


def timed_fit(model, X, y=None):
    tic = time.perf_counter()
    model.fit(X) if y is None else model.fit(X, y)
    return time.perf_counter() - tic


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--columns", type=int, default=20_000)
    parser.add_argument("--density", type=float, default=0.0005)
    parser.add_argument("--dense-rows", type=int, default=10_000)
    parser.add_argument("--small-rows", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=None, help="cut the memory epoch after this long")
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore", ConvergenceWarning)

    X = random_csr(args.rows, args.columns, args.density, seed=0)
    density = X.nnz / np.prod(X.shape)
    print(f"CSR float32 {args.rows:,} x {args.columns:,}, {X.nnz:,} non-zeros ({density:.3%})")
    dense_gib = 4 * np.prod(X.shape) / 2**30
    print(f"its own memory {nbytes(X) / 2**20:,.1f} MiB; dense it would be {dense_gib:,.1f} GiB")
    # The networks, their gradients and Adam's two moments: what any fit of
    # this width holds, whatever the input's format.
    n_weights = 2 * (args.columns * 128 + 128 * 2) + 2 * 128 + 2 + args.columns
    print(f"the model's weights, gradients and Adam state: {4 * 4 * n_weights / 2**20:,.1f} MiB")
    print()
    print("| measurement | input | rows | seconds | rows/s | peak RSS added (MiB) | added / matrix |")
    print("|---|---|---|---|---|---|---|")

    # Warm-up: torch's lazy set-up and the allocator's first arenas are no part of an epoch.
    autoencoder().fit(X[:400])
    before = rss()
    timer = threading.Timer(args.seconds, _thread.interrupt_main) if args.seconds else None
    with PeakRSS() as peak, CountBatches() as count, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Training was interrupted")
        if timer is not None:
            timer.start()
        seconds = timed_fit(autoencoder(), X)
        if timer is not None:
            timer.cancel()
    added = peak.peak - before
    label = "memory, 1 epoch" if count.rows >= args.rows else f"memory, epoch cut at {args.seconds:g} s"
    print(
        f"| {label} | CSR | {count.rows:,} of {args.rows:,} | {seconds:.1f} | {count.rows / seconds:,.0f} "
        f"| {added / 2**20:,.1f} | {added / nbytes(X):.2f} |"
    )

    head = X[: args.dense_rows]
    dense = head.toarray()
    for name, data in (("CSR", head), ("dense ndarray", dense)):
        autoencoder().fit(data[:400])
        seconds = timed_fit(autoencoder(), data)
        rate = args.dense_rows / seconds
        print(f"| throughput, 1 epoch | {name} | {args.dense_rows:,} | {seconds:.2f} | {rate:,.0f} | | |")
    del dense
    model, tic = autoencoder(), time.perf_counter()
    for start in range(0, args.dense_rows, 200):
        model.partial_fit(head[start : start + 200].toarray())
    seconds = time.perf_counter() - tic
    rate = args.dense_rows / seconds
    name = "dense, 200-row partial_fit"
    print(f"| throughput, 1 epoch | {name} | {args.dense_rows:,} | {seconds:.2f} | {rate:,.0f} | | |")

    small = random_csr(args.small_rows, 2_000, 0.01, seed=1)
    target = small.toarray()
    mlp = MLPRegressor(hidden_layer_sizes=(128, 2, 128), batch_size=200, max_iter=1, random_state=0)
    case = f"CSR {args.small_rows:,} x 2,000 at 1%"
    for name, model, y in (
        ("AutoencoderTransformer", autoencoder(), None),
        ("MLPRegressor X -> X", mlp, target),
    ):
        seconds = timed_fit(model, small, y)
        rate = args.small_rows / seconds
        print(f"| vs MLP, 1 epoch: {name} | {case} | {args.small_rows:,} | {seconds:.2f} | {rate:,.0f} | | |")
    print()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10
    print(f"process peak RSS (ru_maxrss, the dense copies above included): {peak_mib:,.0f} MiB")


if __name__ == "__main__":
    main()
