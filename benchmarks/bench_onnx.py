"""Serving speed: pipelines exported with skvae.onnx and run by onnxruntime, next to skvae itself.

Each pipeline is fitted on 10,000 rows of bench_speed.py's data (100
features; networks 100-64-32-8, 5 epochs) and exported with ``to_onnx``;
onnxruntime runs it on one thread (intra- and inter-op), as torch does here.
Latency: one row per call, median over ``--calls`` calls; throughput:
10,000 rows per call, median over ``--repeats`` calls; the runtimes
alternate call by call. Each pipeline is exported twice: with the graphs'
default, which fill and score missing cells (NaN) as skvae does, and with
``options={<skvae class>: {"missing_cells": False}}``, for complete rows
only. "max diff" is the largest difference between skvae's outputs and
either graph's on the 10,000 rows, relative where an output exceeds 1 in
magnitude (a detector's scores sum 100 features' terms).

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_onnx.py

This script is no test: it prints a table and asserts nothing.
"""

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_speed import BATCH_SIZE, HIDDEN_LAYER_SIZES, N_COMPONENTS, make_data  # noqa: E402


def pipelines():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skvae import AutoencoderOutlierDetector, AutoencoderTransformer, VAEOutlierDetector, VAETransformer

    params = dict(
        n_components=N_COMPONENTS,
        hidden_layer_sizes=HIDDEN_LAYER_SIZES,
        batch_size=BATCH_SIZE,
        max_iter=5,
        random_state=0,
    )
    classifier = LogisticRegression(max_iter=1000)
    # name: (pipeline, skvae's method, the ONNX output it is compared with)
    return {
        "scaler + AE + logistic": (
            make_pipeline(StandardScaler(), AutoencoderTransformer(**params), classifier),
            "predict_proba",
            "probabilities",
        ),
        "scaler + VAE + logistic": (
            make_pipeline(StandardScaler(), VAETransformer(**params), classifier),
            "predict_proba",
            "probabilities",
        ),
        "scaler + AE (codes)": (
            make_pipeline(StandardScaler(), AutoencoderTransformer(**params)),
            "transform",
            "variable",
        ),
        "scaler + AE detector": (
            make_pipeline(StandardScaler(), AutoencoderOutlierDetector(**params)),
            "decision_function",
            "scores",
        ),
        "scaler + VAE detector (K=50)": (
            make_pipeline(StandardScaler(), VAEOutlierDetector(**params)),
            "decision_function",
            "scores",
        ),
    }


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000, help="one-row calls per runtime")
    parser.add_argument("--repeats", type=int, default=15, help="10,000-row calls per runtime")
    args = parser.parse_args()

    import numpy as np
    import onnxruntime
    import torch
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    from skvae.onnx import to_onnx

    torch.set_num_threads(1)
    warnings.simplefilter("ignore", ConvergenceWarning)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    X = make_data(20_000)
    X_fit, X_serve = X[:10_000], X[10_000:]
    y = (X_fit[:, 0] > 0).astype(int)

    print(f"onnxruntime {onnxruntime.__version__}, torch {torch.__version__}, one thread each")
    print(
        "| pipeline | 1 row: skvae ms | ONNX ms | ONNX, complete rows ms | 10,000 rows: skvae rows/s "
        "| ONNX rows/s | ONNX, complete rows rows/s | max diff |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, (pipeline, method, output) in pipelines().items():
        pipeline.fit(X_fit, y)
        runs = {"skvae": lambda rows, method=method, pipeline=pipeline: getattr(pipeline, method)(rows)}
        for runtime, missing_cells in (("onnx", True), ("onnx, complete rows", False)):
            skvae_options = {
                type(pipeline[1]): {"missing_cells": missing_cells}
            }  # every pipeline's second step
            graph = to_onnx(
                pipeline, X_fit[:1], options={LogisticRegression: {"zipmap": False}, **skvae_options}
            )
            session = onnxruntime.InferenceSession(
                graph.SerializeToString(), options, providers=["CPUExecutionProvider"]
            )
            index = [o.name for o in session.get_outputs()].index(output)
            runs[runtime] = lambda rows, session=session, index=index: session.run(None, {"X": rows})[index]

        for rows in (X_serve[:1], X_serve):  # untimed warm-up
            for run in runs.values():
                run(rows)
        one = {runtime: [] for runtime in runs}
        for call in range(args.calls):
            row = X_serve[call % len(X_serve)][None, :]
            for runtime, run in runs.items():
                one[runtime].append(timed(run, row)[0])
        many = {runtime: [] for runtime in runs}
        outputs = {}
        for _ in range(args.repeats):
            for runtime, run in runs.items():
                seconds, outputs[runtime] = timed(run, X_serve)
                many[runtime].append(seconds)
        expected = outputs["skvae"]
        difference = max(
            np.max(
                np.abs(outputs[runtime].reshape(expected.shape) - expected) / np.maximum(1, np.abs(expected))
            )
            for runtime in ("onnx", "onnx, complete rows")
        )
        latency = {runtime: 1e3 * statistics.median(times) for runtime, times in one.items()}
        throughput = {runtime: len(X_serve) / statistics.median(times) for runtime, times in many.items()}
        cells = [f"{latency[runtime]:.3f}" for runtime in runs] + [
            f"{throughput[runtime]:,.0f}" for runtime in runs
        ]
        print(f"| {name} | {' | '.join(cells)} | {difference:.1e} |")


if __name__ == "__main__":
    main()
