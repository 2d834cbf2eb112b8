"""Moving data between numpy and torch: devices, dtypes, inference in chunks."""

import warnings

import numpy as np
import torch
from sklearn.utils.validation import check_array

# Inference pads every chunk to a multiple of this many rows. BLAS kernels
# choose their reduction order by the number of rows, so without padding a
# row's output would depend on which rows it was computed with (scikit-learn
# checks that methods are invariant to subsets and to row order).
_ROW_BLOCK = 64
_CHUNK_ROWS = 8192


def resolve_device(device):
    """torch.device for the estimators' ``device`` parameter."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "device='cuda' was requested, but torch cannot find a CUDA device; use device='cpu' or 'auto'."
        )
    return torch.device(device)


def as_float32_tensor(X, device):
    """Rows of ``X`` as one contiguous float32 tensor, copying only when needed.

    ``X`` has no infinite value (validated; NaN marks a missing cell); a
    value beyond float32's range would become infinite in the cast, so it is
    a ValueError instead.
    """
    if X.dtype != np.float32:
        with np.errstate(over="ignore"):
            X32 = np.ascontiguousarray(X, dtype=np.float32)
        if np.isinf(X32).any():
            raise ValueError(
                f"Input X contains a value too large for dtype('float32') (largest magnitude "
                f"{np.nanmax(np.abs(X)):.3g}), the precision skvae computes in. "
                "Scale the inputs (e.g. StandardScaler)."
            )
        X = X32
    X = np.ascontiguousarray(X)
    with warnings.catch_warnings():
        # Read-only inputs (memory maps, shared buffers) are never written to.
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        tensor = torch.from_numpy(X)
    return tensor.to(device, non_blocking=True)


def map_rows(fn, X, device, dtype, chunk_rows=_CHUNK_ROWS, allow_nan=False):
    """Apply ``fn`` (tensor -> tensor of row results) to ``X`` in padded chunks.

    Returns a numpy array of ``dtype`` with one entry (or row) per row of X.
    ``allow_nan`` lets ``fn`` mark results as missing with NaN.
    """
    result = None
    with torch.inference_mode():
        for start in range(0, X.shape[0], chunk_rows):
            chunk = as_float32_tensor(X[start : start + chunk_rows], device)
            n_rows = chunk.shape[0]
            padding = -n_rows % _ROW_BLOCK
            if padding:
                chunk = torch.cat([chunk, chunk.new_zeros((padding, *chunk.shape[1:]))])
            output = fn(chunk)[:n_rows].cpu().numpy()
            # One output array filled in place: no list of chunk results to
            # concatenate, whose many small blocks would pin freed memory.
            if result is None:
                result = np.empty((X.shape[0], *output.shape[1:]), dtype=output.dtype)
            result[start : start + n_rows] = output
    # Finite inputs can still overflow float32 inside the networks (a squared
    # error of a value of 1e20, say): an error, never inf or NaN output.
    if np.isinf(result).any() if allow_nan else not np.isfinite(result).all():
        raise ValueError(
            "The float32 computation overflowed (some results are infinite or NaN): input X has values "
            f"of magnitude up to {np.nanmax(np.abs(X)):.3g}. Scale the inputs (e.g. StandardScaler)."
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
