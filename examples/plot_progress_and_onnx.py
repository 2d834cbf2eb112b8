"""
=====================================================
Progress bars in a search, then serving it with ONNX
=====================================================

A grid search over a pipeline -- scaler, autoencoder, classifier -- with
scikit-learn's progress bars nested down to the autoencoder's epochs; then
the best pipeline exported to ONNX with :func:`skvae.onnx.to_onnx` and run
by onnxruntime, which gives the same probabilities without skvae, torch or
scikit-learn. Needs scikit-learn 1.9 or later with rich (the progress bars)
and the ``onnx`` extra (``pip install 'skvae[onnx]'``).
"""

# %%
# A search with progress bars
# ---------------------------
# Callbacks set on the search are passed down to the pipeline and, with
# ``max_propagation_depth=None``, on to the autoencoder, whose fits report
# one step per epoch. (The default depth of 1 stops at the pipeline.) In a
# terminal or a notebook the bars move as the search runs; here they are
# printed once it is done.
import time
import warnings

import numpy as np
from sklearn.callback import ProgressBar
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skvae import AutoencoderTransformer

X, y = load_digits(return_X_y=True)
X = X.astype(np.float32)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

pipeline = make_pipeline(
    StandardScaler(),
    AutoencoderTransformer(max_iter=10, random_state=0),
    LogisticRegression(max_iter=1000),
)
search = GridSearchCV(pipeline, {"autoencodertransformer__n_components": [4, 8, 16]}, cv=3)
search.set_callbacks(ProgressBar(max_propagation_depth=None))
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)  # 10 epochs, to keep the example short
    search.fit(X_train, y_train)
print(f"best: {search.best_params_}, held-out accuracy {search.score(X_test, y_test):.3f}")

# %%
# Export the best pipeline
# ------------------------
# ``to_onnx`` registers skvae's converters with skl2onnx and converts the
# whole pipeline from a float32 sample of its input. ``zipmap=False`` makes
# the classifier's probabilities one array instead of a list of dicts.
import onnxruntime

from skvae.onnx import to_onnx

best = search.best_estimator_
onnx_model = to_onnx(best, X_train[:1], options={LogisticRegression: {"zipmap": False}})
print([output.name for output in onnx_model.graph.output])

# %%
# Run it with onnxruntime
# -----------------------
# The graph computes in float32, as skvae does: the probabilities agree to
# about 1e-6.
session = onnxruntime.InferenceSession(onnx_model.SerializeToString(), providers=["CPUExecutionProvider"])
labels, probabilities = session.run(None, {"X": X_test})
difference = np.abs(probabilities - best.predict_proba(X_test)).max()
print(f"largest difference from skvae's probabilities: {difference:.1e}")
print(f"same labels: {np.array_equal(labels, best.predict(X_test))}")


# %%
# One row at a time, as a service answers requests, the exported graph
# skips the per-call overhead of validation and of torch.
def milliseconds_per_call(predict, rows, repeats=200):
    start = time.perf_counter()
    for i in range(repeats):
        predict(rows[i % len(rows)][None, :])
    return 1e3 * (time.perf_counter() - start) / repeats


skvae_ms = milliseconds_per_call(best.predict_proba, X_test)
onnx_ms = milliseconds_per_call(lambda row: session.run(None, {"X": row}), X_test)
print(f"one row: scikit-learn and skvae {skvae_ms:.2f} ms, onnxruntime {onnx_ms:.2f} ms")
