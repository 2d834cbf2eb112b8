"""What a fit tells the user about columns the networks cannot read well.

``_table.TableEncoder`` finds such columns as it learns and codes a table;
the words are here: columns left unstandardised that lose what the networks
need (a warning; an error where float32 would turn them into 0), values that
standardising takes beyond float32's range (an error), and columns that a
continued fit (``partial_fit``, ``warm_start``) meets in a state the first fit
did not prepare for.
"""

import numpy as np

from ._table_input import column_names
from ._warnings import warn

# Unstandardised numeric columns that warn: a column whose mean is more than this many standard
# deviations from 0, a median standard deviation outside these bounds, and a column whose standard
# deviation is above the upper one (MNIST's pixels, in [0, 1], vary by 3e-5 to 0.45: a rarely
# inked pixel is no problem, so columns below the lower bound warn through the median only).
_MAX_SIZE_TO_SPREAD = 10_000
_TYPICAL_SCALES = (1e-2, 1e2)
# ... and a column whose mean is more than this many standard deviations from 0 (heights in cm,
# years, temperatures in kelvin): the networks start from outputs near 0 and learn such offsets
# slowly. On ten unit-spread columns moved by +300, the detectors' ROC-AUC fell from 1.0 to 0.73
# (autoencoder) and 0.77 (VAE), and a VAETransformer reconstructed values near 300 as 12 to 19,
# with no warning; at +10 the autoencoder's was 0.88.
_MAX_OFFSET_TO_SPREAD = 10

_FIRST_FIT = "(its first partial_fit call, or the fit a warm start goes on from)"


def warn_unscaled(estimator, means, stds, columns):
    """Warn where numeric columns that standardize="auto" leaves as they are lose what the
    networks need: a spread too small for float32 to keep beside the column's size (timestamps),
    a mean far from 0 for the spread (heights in cm), or scales far from 1, which training learns
    badly (units of 1e-3 or 1e4: ROC-AUC 0.59 and 0.92 for a VAE detector that scores 0.996 on
    the same rows standardised), or a few columns of a wide spread among columns near 1 (one
    column of standard deviation 300 among four of 1: a VAE detector flagged none of the rows 8
    standard deviations out in any column, all at 30).
    ``means`` and ``stds`` are those of the varying numeric ``columns``."""
    problems = []
    fine_print = np.abs(means) > _MAX_SIZE_TO_SPREAD * stds
    if fine_print.any():
        problems.append(
            f"column(s) {column_names(estimator, columns[fine_print])} vary by less than "
            f"1/{_MAX_SIZE_TO_SPREAD:,} of their size, which float32 keeps little of"
        )
    far = (np.abs(means) > _MAX_OFFSET_TO_SPREAD * stds) & ~fine_print
    if far.any():
        problems.append(
            f"column(s) {column_names(estimator, columns[far])} sit more than {_MAX_OFFSET_TO_SPREAD} "
            "standard deviations from 0, an offset the networks learn slowly"
        )
    typical = float(np.median(stds)) if len(stds) else 1.0
    wide = stds > _TYPICAL_SCALES[1]
    if not _TYPICAL_SCALES[0] <= typical <= _TYPICAL_SCALES[1]:
        problems.append(
            f"their typical standard deviation is {typical:.3g}, where the networks train best near 1"
        )
    elif wide.any():
        problems.append(
            f"column(s) {column_names(estimator, columns[wide])} have standard deviations above "
            f"{_TYPICAL_SCALES[1]:g} (up to {stds.max():.3g}), which swamp the others in what the networks "
            "learn"
        )
    if problems:
        warn(
            "X's numeric columns reach the networks as they are, in float32 (standardize='auto' "
            f"standardises tables with categorical columns only), and {'; and '.join(problems)}. "
            "Put a StandardScaler in front (make_pipeline(StandardScaler(), ...)) or set "
            "standardize=True."
        )


def warn_scaled_as_constant(estimator, columns):
    """Warn that ``columns``, constant when the table was learnt, vary in a continued fit's rows."""
    if len(columns):
        warn(
            f"Column(s) {column_names(estimator, columns)} had one value in the rows the "
            f"{type(estimator).__name__} was first fitted on {_FIRST_FIT} and vary here: the networks "
            "read them unscaled, with the scale 1 of a constant. Fit anew (warm_start=False) on rows "
            "that vary them."
        )


def warn_learnt_late(estimator, columns):
    """Warn that ``columns``, never observed when the table was learnt, are observed in a continued
    fit's rows."""
    if len(columns):
        warn(
            f"Column(s) {column_names(estimator, columns)} had no observed value in the rows the "
            f"{type(estimator).__name__} was first fitted on {_FIRST_FIT}: it has no input for them, so "
            "their values here are not learnt, and transform passes them through. Fit anew "
            "(warm_start=False) on rows that observe every column at least once."
        )


def check_standardized_range(estimator, j, column, standardized):
    """ValueError where a value of numeric column j lies beyond float32's range once standardised,
    quoting the user's value, not the standardised one."""
    with np.errstate(invalid="ignore"):  # NaN cells compare False
        beyond = np.abs(standardized) > np.finfo(np.float32).max
    if beyond.any():
        k = np.flatnonzero(beyond)[0]
        raise ValueError(
            f"Column {column_names(estimator, [j])} of X holds {column[k]:.3g}, {standardized[k]:.3g} "
            "standard deviations from its mean in fit: beyond the range of dtype('float32'), the "
            "precision skvae computes in. Remove or clip such values."
        )


def refuse_below_float32(estimator, columns, lows, highs):
    """ValueError for unstandardised numeric columns that vary, every value below float32's
    smallest normal number in magnitude: there they become 0, or keep a few of their digits. (A
    constant column keeps its value: fit pins it.)"""
    with np.errstate(invalid="ignore"):  # sparse X keeps no smallest or largest value (NaN)
        largest = np.fmax(np.abs(lows), np.abs(highs))
        lost = (largest > 0) & (largest < np.finfo(np.float32).tiny) & (lows != highs)
    if lost.any():
        raise ValueError(
            f"Column(s) {column_names(estimator, columns[lost])} of X hold values below "
            f"{np.finfo(np.float32).tiny:.3g} in magnitude only, which dtype('float32'), the precision "
            "skvae computes in, turns into 0 or keeps few digits of. Scale them (e.g. StandardScaler), "
            "or pass standardize=True."
        )


def refuse_too_wide_to_standardize(estimator, columns, observed, scales, spreads):
    """ValueError for observed numeric columns whose spread or standard deviation overflows float64."""
    too_wide = observed & ~(np.isfinite(scales) & np.isfinite(spreads))
    if too_wide.any():
        raise ValueError(
            f"Column(s) {column_names(estimator, columns[too_wide])} of X hold values too far apart for "
            "float64 to standardise (their variance overflows). Scale them, or remove their extreme values."
        )
