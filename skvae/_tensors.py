"""Moving data between numpy and torch: devices, dtypes, inference in chunks."""

import warnings

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils.validation import check_array

# Inference pads every chunk to a multiple of this many rows. BLAS kernels
# choose their reduction order by the number of rows, so without padding a
# row's output would depend on which rows it was computed with (scikit-learn
# checks that methods are invariant to subsets and to row order).
_ROW_BLOCK = 64
_CHUNK_ROWS = 8192
# Cells of a convolution's activations an inference chunk may hold (float32: 256 MB).
_CONV_CELLS = 2**26
# Sparse rows are densified one chunk at a time: at most about this many
# cells per chunk, so that a wide matrix (20,000 columns of one-hot or text
# features) costs tens of megabytes per chunk, not 8192 dense rows.
_SPARSE_CHUNK_CELLS = 1 << 22


def resolve_device(device):
    """torch.device for the estimators' ``device`` parameter."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "device='cuda' was requested, but torch cannot find a CUDA device; use device='cpu' or 'auto'."
        )
    resolved = torch.device(device)
    if resolved.type == "cuda" and resolved.index is None:
        # The current GPU by its index: networks and batches then compare equal wherever they sit
        # (a model fitted inside torch.cuda.device(1) goes on training there).
        resolved = torch.device("cuda", torch.cuda.current_device())
    return resolved


def _largest_magnitude(X):
    """The largest absolute value of X (dense or sparse), NaN left out, for error messages."""
    values = X.data if sp.issparse(X) else X
    return np.nanmax(np.abs(values)) if values.size else 0.0


def _check_float32_range(X, X32):
    """ValueError when a value of X became infinite in ``X32``, its float32 cast."""
    if np.isinf(X32).any():
        raise ValueError(
            f"Input X contains a value too large for dtype('float32') (largest magnitude "
            f"{_largest_magnitude(X):.3g}), the precision skvae computes in. "
            "Scale the inputs (e.g. StandardScaler)."
        )


def as_float32_tensor(X, device):
    """Rows of ``X`` as one contiguous float32 tensor, copying only when needed.

    ``X`` has no infinite value (validated; NaN marks a missing cell); a
    value beyond float32's range would become infinite in the cast, so it is
    a ValueError instead.
    """
    if sp.issparse(X):
        X = X.toarray()
    if X.dtype != np.float32:
        with np.errstate(over="ignore"):
            X32 = np.ascontiguousarray(X, dtype=np.float32)
        _check_float32_range(X, X32)
        X = X32
    X = np.ascontiguousarray(X)
    with warnings.catch_warnings():
        # Read-only inputs (memory maps, shared buffers) are never written to.
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        tensor = torch.from_numpy(X)
    return tensor.to(device, non_blocking=True)


class FloatOverflow(ValueError):
    """A computation on finite float32 inputs overflowed."""


class SparseRows:
    """Rows of a SciPy CSR matrix that the training loop indexes like a tensor.

    ``rows[index]`` (a slice, or a tensor or array of row numbers) is those
    rows as a dense float32 tensor on ``device``: only one mini-batch is ever
    dense, so training needs the sparse matrix plus one batch of memory. An
    implicit zero is an observed zero; a stored NaN is a missing cell.
    """

    def __init__(self, X, device):
        # Checked once here, so that no batch fails half-way through training.
        if X.dtype != np.float32:
            with np.errstate(over="ignore"):
                _check_float32_range(X, X.data.astype(np.float32))
        self.X = X
        self.shape = X.shape
        self.device = device

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, rows):
        if isinstance(rows, torch.Tensor):
            rows = rows.cpu().numpy()
        return as_float32_tensor(self.X[rows], self.device)

    def sum(self):
        """The sum of the stored values as a tensor: NaN exactly when X has a missing cell."""
        return torch.as_tensor(np.sum(self.X.data, dtype=np.float64), device=self.device)

    def chunks(self):
        """The rows as dense tensors, a few at a time."""
        step = chunk_rows_for(self.X)
        for start in range(0, self.shape[0], step):
            yield self[start : start + step]


def as_rows(X, device):
    """The training rows as the training loop indexes them: a float32 tensor, or SparseRows."""
    return SparseRows(X, device) if sp.issparse(X) else as_float32_tensor(X, device)


def chunk_rows_for(X, chunk_rows=_CHUNK_ROWS):
    """Rows per inference chunk: fewer for wide sparse X, whose chunks are densified."""
    if not sp.issparse(X):
        return chunk_rows
    return _power_of_two_rows(_SPARSE_CHUNK_CELLS // max(X.shape[1], 1), chunk_rows)


def conv_chunk_rows(n_features, channels):
    """Rows per inference chunk of a convolutional network, whose activations hold up to
    ``n_features x channels`` cells a row (8,192 rows of 28 x 28 images through 128 channels
    took 1.5 to 2.4 GB)."""
    return _power_of_two_rows(_CONV_CELLS // max(n_features * channels, 1), _CHUNK_ROWS)


def _power_of_two_rows(fitting, most):
    """The largest power of two of rows up to ``fitting``, within [_ROW_BLOCK, most].

    A power of two, as the dense chunks are: a row's result may depend on its position in the
    chunk modulo a power of two (the VAE's variance pass takes its noise vectors in turn).
    """
    return max(_ROW_BLOCK, min(most, 1 << (max(fitting, 1).bit_length() - 1)))


def mean_over_rows(fn, X):
    """Mean over the rows of ``X`` (a tensor or SparseRows) of ``fn``'s per-chunk row means."""
    if isinstance(X, torch.Tensor):
        return fn(X)
    total = 0.0
    for chunk in X.chunks():
        total = total + fn(chunk) * chunk.shape[0]
    return total / X.shape[0]


def nan_where_missing(values, observed):
    """``values`` with NaN where ``observed`` is False (all of them where it is None): how a
    result marks a missing cell for ``map_rows(..., allow_nan=True)``."""
    return values if observed is None else values.masked_fill(~observed, torch.nan)


def pad_rows(x):
    """``x`` with zero rows added up to a whole number of _ROW_BLOCK rows (see there)."""
    padding = -x.shape[0] % _ROW_BLOCK
    return torch.cat([x, x.new_zeros((padding, *x.shape[1:]))]) if padding else x


def map_rows(fn, X, device, dtype, chunk_rows=None, allow_nan=False):
    """Apply ``fn`` (tensor -> tensor of row results) to ``X`` in padded chunks.

    Returns a numpy array of ``dtype`` with one entry (or row) per row of X.
    ``allow_nan`` lets ``fn`` mark results as missing with NaN. Chunks hold
    ``chunk_rows`` rows (8,192 by default); sparse X is densified one chunk
    at a time, in fewer rows when it is wide.
    """
    chunk_rows = chunk_rows_for(X, chunk_rows or _CHUNK_ROWS)
    result = None
    with torch.inference_mode():
        for start in range(0, X.shape[0], chunk_rows):
            chunk = as_float32_tensor(X[start : start + chunk_rows], device)
            n_rows = chunk.shape[0]
            output = fn(pad_rows(chunk))[:n_rows].cpu().numpy()
            # One output array filled in place: no list of chunk results to
            # concatenate, whose many small blocks would pin freed memory.
            if result is None:
                result = np.empty((X.shape[0], *output.shape[1:]), dtype=output.dtype)
            result[start : start + n_rows] = output
    # Finite inputs can still overflow float32 inside the networks (a squared
    # error of a value of 1e20, say): an error, never inf or NaN output.
    if np.isinf(result).any() if allow_nan else not np.isfinite(result).all():
        raise FloatOverflow(
            "The float32 computation overflowed (some results are infinite or NaN): input X has values "
            f"of magnitude up to {_largest_magnitude(X):.3g}. Scale the inputs (e.g. StandardScaler). If "
            "they are of the scale the model was trained on, its networks overflow: training diverged, "
            "refit with a lower learning_rate_init."
        )
    return result.astype(dtype, copy=False)


def check_code_array(X, n_components, estimator):
    """Validate codes given to ``inverse_transform``."""
    X = check_array(X, dtype=[np.float64, np.float32], input_name="X")
    if X.shape[1] != n_components:
        raise ValueError(
            f"X has {X.shape[1]} features, but {type(estimator).__name__}.inverse_transform "
            f"is expecting {n_components} features (n_components) as input."
        )
    return X
