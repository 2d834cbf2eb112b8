"""Which features make a detector's row abnormal: ``feature_contributions``.

Two answers. ``method="reconstruction"`` returns the per-column terms of the
detector's own score. ``method="robust"`` encodes the row again, robustly and
leaving each feature out in turn (the search is ``_explanation``'s), against
the decoder's output corrected for what it gets wrong on the training rows
(``_residual_correction``), in units of each column's corrected surprise on
those rows. What fit keeps for it: the codes of some training rows (the
search's starting points, ``_anchor_codes``), the correction's weights
(``_residual_weights``) and the columns' mean surprise (``_surprise_divisor``).

The detectors supply the model: their score's terms, each column's surprise
at the decoder's outputs, and the search's prior on the codes.
"""

import sys

import numpy as np
import pandas as pd
import torch
from sklearn.utils._param_validation import StrOptions, validate_parameter_constraints

from ._column_kinds import polars_frame
from ._column_statistics import evenly_spaced_rows
from ._explanation import chunk_rows, robust_surprise
from ._likelihoods import BernoulliLikelihood
from ._networks import decode_draws
from ._residual_correction import code_terms, fit_correction
from ._tensors import nan_where_missing

# Training rows whose codes are kept as starting points of the robust re-encoding.
_N_ANCHORS = 256
# Training rows whose residuals fit the decoder's correction (see _residual_correction):
# up to 2,000, fewer for wide rows (2**21 cells), at least 200.
_CORRECTION_ROWS, _CORRECTION_CELLS, _MIN_CORRECTION_ROWS = 2000, 2**21, 200


class FeatureContributionsMixin:
    """``feature_contributions`` of a detector, and what fit learns for it (``_fit_explanations``)."""

    # Whether the robust fit keeps codes near the training rows' by a kernel density of the
    # anchors rather than by _code_prior (see _explanation).
    _anchor_density_prior = False

    # -- what the detectors provide ------------------------------------------

    def _reconstruction_contributions(self, X):
        """feature_contributions(method="reconstruction") of coded rows: per-column terms of the score."""
        raise NotImplementedError

    def _surprise(self, x, decoded, observed):
        """Each column's surprise at the decoder's outputs (see ``_explanation``); 0 where missing."""
        raise NotImplementedError

    def _surprise_as_contributions(self, surprise):
        """feature_contributions(method="robust") from the robust search's surprises."""
        raise NotImplementedError

    def _code_prior(self, anchors):
        """The robust search's penalty on the codes, ``(center, precision)``, or None for none."""
        raise NotImplementedError

    def _adjusted_contributions(self, contributions, X_user, coded, method):
        """Hook: the contributions of the coded rows, given X as the user gave it, for terms the
        networks do not see (a category not seen in fit: ``_new_categories``)."""
        return contributions

    # -- fitting -------------------------------------------------------------

    def _fit_explanations(self, X):
        """The anchors and the decoder's correction, from the coded training rows X."""
        rows = evenly_spaced_rows(X.shape[0], _N_ANCHORS)
        self._anchor_codes = self._map_rows(self._encode, X[rows]).astype(np.float32)
        n_rows = max(_MIN_CORRECTION_ROWS, min(_CORRECTION_ROWS, _CORRECTION_CELLS // max(X.shape[1], 1)))
        self._fit_residual_correction(X[evenly_spaced_rows(X.shape[0], n_rows)])

    def _fit_residual_correction(self, X):
        """For feature_contributions(method="robust"): the decoder's correction on the training
        rows X, and each column's mean corrected surprise there (see _residual_correction)."""
        self._residual_weights = self._surprise_divisor = None
        if isinstance(getattr(self, "likelihood_", None), BernoulliLikelihood):
            return  # a Bernoulli decoder outputs log-odds: no residual to correct
        n_components = self.n_components_
        codes_and_residuals = torch.from_numpy(self._map_rows(self._codes_and_residuals, X, allow_nan=True))
        codes, residuals = codes_and_residuals[:, :n_components], codes_and_residuals[:, n_components:]
        observed = ~torch.isnan(residuals)
        weights = fit_correction(codes, residuals.nan_to_num(), None if observed.all() else observed)
        # C order, as load gives it back: the same layout sums the same way, to the last bit.
        self._residual_weights = np.ascontiguousarray(weights.numpy(), dtype=np.float32)
        divisor = self._column_means(self._corrected_surprise_at_encoding, X)
        # A column never observed divides by 1. No floor beyond the detector's own scales: the
        # columns the training rows reproduce almost exactly are the telling ones (a floor at a
        # thousandth of the uncorrected surprise took the VAE's precision on ALOI from 0.37 to
        # 0.22). Categorical columns too: a VAE's cross-entropy of K even categories is log K
        # on every row, and named an intact column of 20 the most abnormal in 96% of rows.
        divisor = np.where(np.isfinite(divisor) & (divisor > 0), divisor, 1.0)
        self._surprise_divisor = divisor.astype(np.float32)

    def _codes_and_residuals(self, X):
        """Each row's code, then each numeric column's value minus the decoder's output there (NaN
        where missing), side by side."""
        x, observed = self._prepare(X)
        layout = self._layout(x.device)
        z = self._encoder_mean(x)
        residuals = layout.numeric_part(x) - layout.numeric_part(self.decoder_(z))
        return torch.cat([z, nan_where_missing(residuals, layout.numeric_mask(observed))], dim=-1)

    def _corrected_surprise_at_encoding(self, X):
        """Each column's corrected surprise at the encoder's code (0 where missing), and the observed mask."""
        x, observed = self._prepare(X)
        return self._corrected_surprise(x, self._encoder_mean(x), observed), observed

    def _corrected_surprise(self, x, z, observed):
        """Each column's surprise at code z against the decoder's output corrected for what it
        gets wrong on the training rows (the plain output for a Bernoulli likelihood, or a
        model saved before the correction)."""
        # The search hands over codes of several starting points at once, (..., n, n_components).
        decoded = decode_draws(self.decoder_, z)
        weights = getattr(self, "_residual_weights", None)
        if weights is not None:
            correction = code_terms(z) @ torch.as_tensor(weights, dtype=z.dtype, device=z.device)
            decoded = decoded.index_add(decoded.dim() - 1, self._layout(x.device).numeric, correction)
        return self._surprise(x, decoded, observed)

    def _explained_surprise(self, x, z, observed):
        """The corrected surprise in units of its mean on the training rows: what the robust
        explanations search with."""
        return self._in_training_units(self._corrected_surprise(x, z, observed))

    def _in_training_units(self, surprise):
        """Surprises (a tensor or an array, one per column last) over each column's mean on the
        training rows, where fit measured it."""
        divisor = getattr(self, "_surprise_divisor", None)
        if divisor is None:
            return surprise
        if isinstance(surprise, np.ndarray):
            return surprise / divisor
        return surprise / torch.as_tensor(divisor, dtype=surprise.dtype, device=surprise.device)

    # -- explaining -----------------------------------------------------------

    def feature_contributions(self, X, method="robust"):
        """Each feature's part in making each row abnormal.

        Parameters
        ----------
        X : {array-like, sparse matrix} or DataFrame of shape (n_samples, n_features)
            Rows to explain.

        method : {"robust", "reconstruction"}, default="robust"
            "robust": each feature's squared error when the row is encoded
            again, robustly (ignoring the features its other features
            contradict) and without that feature -- so that a broken feature
            does not spread its blame over the others -- against the
            decoder's output corrected for its errors on the training rows.
            "reconstruction": the
            per-feature terms of the score itself (see the class's
            description). A missing cell's contribution is 0 for both; a
            cell holding a category not seen in fit takes the term of a
            category of probability 1 / (n + 1), n its column's observed
            cells in fit (``n_samples_seen_``), as the score counts it.

        Returns
        -------
        contributions : ndarray or DataFrame of shape (n_samples, n_features)
            One term per row and feature, in the units the class's
            description gives; the most negative terms are the features that
            make a row abnormal. A DataFrame, with X's index and column
            names, when X is one (a polars DataFrame for a polars X).
        """
        validate_parameter_constraints(
            {"method": [StrOptions({"robust", "reconstruction"})]},
            {"method": method},
            caller_name="feature_contributions",
        )
        # X's own columns: a model fitted on an array has no feature_names_in_.
        index, columns = (X.index, X.columns) if isinstance(X, pd.DataFrame) else (None, None)
        polars_columns = list(X.columns) if polars_frame(X) else None
        coded = self._validated_rows(X)
        if method == "robust":
            contributions = self._map_rows(
                self._robust_contributions, coded, chunk_rows=chunk_rows(coded.shape[1])
            )
        else:
            contributions = self._map_rows(self._reconstruction_contributions, coded)
        contributions += 0.0  # a missing cell's term is 0, not the -0.0 of a masked negative term
        contributions = self._adjusted_contributions(contributions, X, coded, method)
        if polars_columns is not None:
            # polars is not a dependency: a polars X means the user has imported it.
            return sys.modules["polars"].DataFrame(contributions, schema=polars_columns, orient="row")
        if index is None:
            return contributions
        return pd.DataFrame(contributions, index=index, columns=columns)

    def _robust_contributions(self, X):
        x, observed = self._prepare(X)
        # The search differentiates through these: ordinary tensors, not inference mode's.
        with torch.inference_mode(False):
            x = x.clone()
            observed = None if observed is None else observed.clone()
        # Models saved before the anchors existed start from the encoder's code alone.
        anchors = getattr(self, "_anchor_codes", None)
        anchors = None if anchors is None else torch.as_tensor(anchors, device=x.device)
        surprise = robust_surprise(
            lambda z: self._explained_surprise(x, z, observed),
            self._encoder_mean(x),
            anchors,
            prior=self._code_prior(anchors),
            anchor_density=self._anchor_density_prior,
        )
        return self._surprise_as_contributions(surprise)
