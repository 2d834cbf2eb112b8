"""Categories not seen in fit, as evidence that a detector's row is unusual.

The networks know the categories a table listed when its columns were
learnt (``_table``) and read any other label as a missing cell. To a
detector such a cell also says something: a product code, a country or a
payment method that no training row had makes a row unusual, where a
missing cell says nothing. The detectors count it as one more category,
"any label not listed", whose probability is estimated from the training
cells as a Chinese restaurant process of concentration 1 estimates a new
category's: (m + 1) / (n + 1) after n observed cells of which m held a
label not listed. Fit lists every label of its rows (m = 0, 1 / (n + 1):
9.2 nats after 10,000 rows, as surprising as a listed category the model
gives 1 in 10,001); later ``partial_fit`` calls, and a warm-started fit,
keep fit's list, so that a label common among their rows is no surprise.

The detectors supply how a categorical cell's cross-entropy enters their
score and contributions (``_category_surprise``) and how their score counts
a cell the networks read as missing (``_count_new_categories``).
"""

import numpy as np

from ._column_statistics import observed_counts


def new_category_cross_entropy(n_samples_seen, n_new_seen):
    """The cross-entropy, in nats, of a label not listed in fit, in a column of ``n_samples_seen``
    observed training cells of which ``n_new_seen`` held one: log((n + 1) / (m + 1))."""
    return np.log1p(np.asarray(n_samples_seen, dtype=np.float64)) - np.log1p(n_new_seen)


class NewCategoriesMixin:
    """A detector's count of its training cells, and the terms of its cells that hold a category
    not seen in fit."""

    # -- what the detectors provide ------------------------------------------

    def _category_surprise(self, cross_entropy):
        """The surprise (see ``_feature_contributions``) of categorical cells of these
        cross-entropies, one per column."""
        raise NotImplementedError

    def _count_new_categories(self, scores, coded, cells, term):
        """``scores`` of the coded rows, which read the ``cells`` that hold a category not seen in
        fit as missing, with those cells counted as observed, of score term ``term`` (one per
        column)."""
        raise NotImplementedError

    # -- fitting ---------------------------------------------------------------

    def _note_training_rows(self, X, X_user, incremental):
        super()._note_training_rows(X, X_user, incremental)
        counted = hasattr(self, "n_samples_seen_")
        if incremental and not counted and hasattr(self, "offset_"):
            # A model saved before the counts went on: it keeps reading such cells as missing
            # rather than counting from this chunk alone.
            return
        new = self._cells_holding_new_categories(X_user, X)
        n_new = np.zeros(len(self._table.starts), dtype=np.int64) if new is None else new.sum(axis=0)
        n_seen = observed_counts(X, self._table.starts) + n_new  # the networks read those as missing
        if incremental and counted:
            # New arrays: the copies that callbacks get share the old ones.
            n_seen, n_new = n_seen + self.n_samples_seen_, n_new + self._n_new_categories_seen
        self.n_samples_seen_, self._n_new_categories_seen = n_seen, n_new

    # -- scoring ---------------------------------------------------------------

    def _cells_holding_new_categories(self, X, coded):
        """The cells of X (as the user gave it; ``coded`` for the networks) that hold a category not
        listed in fit, as a boolean mask of X's shape, or None where there are none."""
        if not self._table.categorical:
            return None
        missing = np.isnan(coded[:, self._table.starts])
        new = self._table.unseen_categories(X, missing)
        if not new:
            return None
        cells = np.zeros_like(missing)
        for j, (rows, _) in new.items():
            cells[rows, j] = True
        return cells

    def _new_category_cells(self, X, coded):
        """``_cells_holding_new_categories``, for a model that counts them (None for one saved
        before the counts, which reads them as missing)."""
        if not hasattr(self, "n_samples_seen_"):
            return None
        return self._cells_holding_new_categories(X, coded)

    @property
    def _new_category_note(self):
        """What the warning about categories not seen in fit adds for a detector (``_table_input``)."""
        if not hasattr(self, "n_samples_seen_"):
            return ""
        return (
            ", and score_samples counts each as a category of the probability new categories had in "
            "fit: 1 / (n + 1) after n training cells without one (see n_samples_seen_)"
        )

    def _new_category_surprise(self):
        """The surprise of a cell holding a category not seen in fit, per column."""
        cross_entropy = new_category_cross_entropy(self.n_samples_seen_, self._n_new_categories_seen)
        return self._category_surprise(cross_entropy)

    def _scores_with_new_categories(self, scores, X, coded):
        """The scores of X's coded rows with the cells that hold a category not seen in fit counted."""
        cells = self._new_category_cells(X, coded)
        if cells is None:
            return scores
        term = self._surprise_as_contributions(self._new_category_surprise())
        return self._count_new_categories(scores.astype(np.float64), coded, cells, term).astype(scores.dtype)

    def _with_new_categories(self, contributions, X, coded, method):
        """feature_contributions of coded rows (``contributions``, written to) with the cells that
        hold a category not seen in fit given the term their surprise makes."""
        cells = self._new_category_cells(X, coded)
        if cells is None:
            return contributions
        surprise = self._new_category_surprise()
        divisor = getattr(self, "_surprise_divisor", None)
        if method == "robust" and divisor is not None:
            surprise = surprise / divisor
        terms = np.broadcast_to(self._surprise_as_contributions(surprise), cells.shape)
        contributions[cells] = terms[cells]
        return contributions
