"""Categories not seen in fit, as evidence that a detector's row is unusual.

The networks know the categories a table listed when its columns were
learnt (``_table``) and read any other label as a missing cell. To a
detector such a cell also says something: a product code, a country or a
payment method that no training row had makes a row unusual, where a
missing cell says nothing. The detectors count it as a category of the
probability a Chinese restaurant process of concentration 1 gives a new
category after the column's n observed training cells, 1 / (n + 1): 9.2
nats after 10,000 rows, as surprising as a listed category the model gives
1 in 10,001.

That holds while every training cell held a listed label, as fit's do.
Later ``partial_fit`` calls (and a warm-started fit) keep fit's list, and
their rows may bring other labels, which the networks train on, and the
threshold ``offset_`` is set from, as missing cells. A column whose
training rows held such labels reads every label not listed as missing in
the scores too, as training and the threshold did: counted as new, a label
common in the stream would have every row holding it flagged.

The detectors supply how a categorical cell's cross-entropy enters their
score and contributions (``_category_surprise``) and how their score counts
a cell the networks read as missing (``_count_new_categories``).
"""

import numpy as np

from ._column_statistics import observed_counts


def new_category_cross_entropy(n_samples_seen):
    """The cross-entropy, in nats, of a category not seen in a column's ``n_samples_seen`` observed
    training cells: log(n + 1)."""
    return np.log1p(np.asarray(n_samples_seen, dtype=np.float64))


class NewCategoriesMixin:
    """A detector's count of its training cells, and the terms of its cells that hold a category
    not seen in fit."""

    # -- what the detectors provide ------------------------------------------

    def _category_surprise(self, cross_entropy):
        """The surprise (see ``_feature_contributions``) of categorical cells of these
        cross-entropies, one per column."""
        raise NotImplementedError

    def _count_new_categories(self, scores, coded, cells, term):
        """The ``scores`` of the coded rows with each of the ``cells`` (which the networks, and so
        the scores, read as missing) counted as an observed cell of score term ``term[column]``."""
        raise NotImplementedError

    # -- fitting ---------------------------------------------------------------

    def _note_training_rows(self, X, X_user, incremental):
        super()._note_training_rows(X, X_user, incremental)
        counted = hasattr(self, "n_samples_seen_")
        # offset_ rather than encoder_ tells a model fitted before this call: the networks exist by
        # now, the first calibration comes after. A model saved before the counts keeps reading
        # such cells as missing until it is fitted again, rather than counting from a chunk alone.
        if incremental and not counted and hasattr(self, "offset_"):
            return
        unseen = self._unseen_category_cells(X_user, X)
        n_unlisted = np.zeros(self.n_features_in_, dtype=np.int64) if unseen is None else unseen.sum(axis=0)
        n_seen = observed_counts(X, self._table.starts) + n_unlisted  # the networks read those as missing
        if incremental and counted:
            # New arrays: the copies that callbacks get share the old ones.
            n_seen, n_unlisted = n_seen + self.n_samples_seen_, n_unlisted + self._n_unlisted_seen
        self.n_samples_seen_, self._n_unlisted_seen = n_seen, n_unlisted

    # -- scoring ---------------------------------------------------------------

    def _unseen_category_cells(self, X_user, coded):
        """The cells of X (as the user gave it; ``coded`` for the networks) that hold a label the
        fitted categories do not list, as a boolean mask of X's shape, or None where there are none."""
        if not self._table.categorical:
            return None
        unseen = self._table.unseen_categories(X_user, np.isnan(coded[:, self._table.starts]))
        if not unseen:
            return None
        cells = np.zeros((coded.shape[0], self.n_features_in_), dtype=bool)
        for j, (rows, _) in unseen.items():
            cells[rows, j] = True
        return cells

    def _counts_new_categories(self):
        """Per column, whether the scores count a label not listed as a new category: not in a
        model saved before the counts, nor in a column whose training rows held such labels."""
        if not hasattr(self, "n_samples_seen_"):
            return np.zeros(self.n_features_in_, dtype=bool)
        return self._n_unlisted_seen == 0

    def _new_category_cells(self, X_user, coded):
        """The cells of X that the scores count as holding a new category, or None where none do."""
        counts = self._counts_new_categories()
        cells = self._unseen_category_cells(X_user, coded) if counts.any() else None
        if cells is None or not (cells := cells & counts).any():
            return None
        return cells

    def _unseen_category_note(self, column):
        if not self._counts_new_categories()[column]:
            return ""
        return (
            ", and score_samples counts each as a category of probability 1 / (n + 1), n the "
            f"column's {self.n_samples_seen_[column]} training cells (see n_samples_seen_)"
        )

    def _new_category_surprise(self):
        """The surprise of a cell holding a category not seen in fit, per column."""
        return self._category_surprise(new_category_cross_entropy(self.n_samples_seen_))

    def _adjusted_scores(self, scores, X_user, coded):
        """The scores of the coded rows with the cells that hold a new category counted."""
        scores = super()._adjusted_scores(scores, X_user, coded)
        cells = self._new_category_cells(X_user, coded)
        if cells is None:
            return scores
        term = self._surprise_as_contributions(self._new_category_surprise())
        return self._count_new_categories(scores.astype(np.float64), coded, cells, term).astype(scores.dtype)

    def _adjusted_contributions(self, contributions, X_user, coded, method):
        """feature_contributions of the coded rows (written to), the cells that hold a new category
        given the term their surprise makes."""
        contributions = super()._adjusted_contributions(contributions, X_user, coded, method)
        cells = self._new_category_cells(X_user, coded)
        if cells is None:
            return contributions
        surprise = self._new_category_surprise()
        if method == "robust":
            surprise = self._in_training_units(surprise)
        terms = np.broadcast_to(self._surprise_as_contributions(surprise), cells.shape)
        contributions[cells] = terms[cells]
        return contributions
