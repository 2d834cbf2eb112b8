"""Where each input column sits among the networks' inputs, as tensors on a device.

Built from a fitted :class:`~skvae._table.TableEncoder`: it turns a batch of
coded rows into the networks' input (missing cells filled) and the mask of
observed columns, and gathers per-column likelihood terms, one per input
column, in the input's order.
"""

import numpy as np
import torch

from ._tensors import pad_rows

# Rounds of refill_missing, for networks fitted on complete rows. Measured on 6 correlated
# features, contamination=0.05, the share of normal rows flagged with 1, 3 and 5 of 6 cells
# missing: VAE 0.07, 0.28, 0.12 with the mean alone, 0.01, 0.02, 0.01 after 3 rounds and 0.01,
# 0.00, 0.01 after 10; the autoencoder 0.32, 0.71, 0.68, then 0.17, 0.18, 0.24 and 0.12, 0.07,
# 0.29. The 12 reference ADBench sets, 20% of the test cells missing, ROC-AUC / AP: VAE 0.902 /
# 0.587 at the mean, 0.910 / 0.598 after 3 rounds, 0.913 / 0.606 after 10; autoencoder 0.854 /
# 0.538, 0.860 / 0.556, 0.866 / 0.566 (benchmarks page, "Missing cells"). A round is one pass of
# the networks over the incomplete rows, a fifth of the 50 importance samples a VAE scores them
# with. Networks that trained on missing cells read them at the mean, as they learnt to:
# refilled, VAEImputer's breast_cancer error (50% missing) rose from 0.27 to 0.66, the encoder's
# input unlike any it trained on.
_REFILL_ROUNDS = 10


def refill_missing(x, missing, encode, decode):
    """Prepared rows ``x`` whose ``missing`` inputs hold the model's reconstruction of them.

    ``_REFILL_ROUNDS`` times, the incomplete rows (missing inputs at the
    training mean at first) are encoded and decoded, and each missing input
    takes its decoded value: the code moves to where the observed cells put
    it, as the code of a complete row would lie. Observed inputs, and
    complete rows, are never changed.
    """
    incomplete = missing.any(dim=-1)
    n_incomplete = int(incomplete.sum())
    if not n_incomplete:
        return x
    # Padded as map_rows pads: a row's refill is then the same whichever rows come with it.
    rows, row_missing = pad_rows(x[incomplete]), pad_rows(missing[incomplete])
    with torch.no_grad():
        for _ in range(_REFILL_ROUNDS):
            rows = torch.where(row_missing, decode(encode(rows)).to(rows.dtype), rows)
    x = x.clone()
    x[incomplete] = rows[:n_incomplete]
    return x


class ColumnLayout:
    """Tensors that say where each input column sits among the networks' inputs."""

    def __init__(self, table, device):
        widths, starts = table.widths, table.starts
        self.all_numeric = not table.categorical
        self.numeric = torch.as_tensor(table.numeric_positions, dtype=torch.long, device=device)
        self.numeric_columns = torch.as_tensor(table.numeric, dtype=torch.long, device=device)
        self.blocks = [(int(starts[j]), widths[j]) for j in table.categorical]
        if self.blocks:
            # Which block each input belongs to, as a 0/1 matrix (inputs x blocks; numeric inputs in
            # none) and as an index (numeric inputs in an extra last one): sums and maxima over every
            # block in one tensor operation each, where a loop over 23 blocks made half a step.
            block_of_input = np.full(table.width, len(self.blocks))
            for block, (start, size) in enumerate(self.blocks):
                block_of_input[start : start + size] = block
            self.block_of_input = torch.as_tensor(block_of_input, device=device)
            in_block = block_of_input < len(self.blocks)
            self.in_block = torch.as_tensor(in_block, device=device)
            membership = np.zeros((table.width, len(self.blocks)), dtype=np.float32)
            membership[np.flatnonzero(in_block), block_of_input[in_block]] = 1
            self.block_membership = torch.as_tensor(membership, device=device)
        # Missing cells enter the encoder at the training mean: 0 once
        # centred, the mean itself otherwise; a missing category as
        # an all-zero block.
        fill = np.zeros(table.width)
        fill[table.numeric_positions] = 0.0 if table.centred else table.center
        self.fill = torch.as_tensor(fill, dtype=torch.float32, device=device)
        # Position of each input column among [numeric terms, categorical terms].
        order = np.empty(table.n_columns, dtype=np.int64)
        order[table.numeric] = np.arange(len(table.numeric))
        order[table.categorical] = len(table.numeric) + np.arange(len(table.categorical))
        self.order = torch.as_tensor(order, device=device)
        self.log_scale = torch.as_tensor(np.log(table.scale), dtype=torch.float32, device=device)
        self.complete_log_jacobian = -float(self.log_scale.sum())

    def prepare(self, x):
        """The networks' input (missing cells filled) and the mask of observed columns.

        The mask is None when every cell is observed, so that complete data
        take the unmasked path.
        """
        missing = torch.isnan(x)
        if not bool(missing.any()):
            return x, None
        return torch.where(missing, self.fill.to(x.dtype), x), self.observed_columns(~missing)

    def observed_columns(self, observed_inputs):
        """From a mask over the networks' inputs to one over the input columns."""
        if self.all_numeric:
            return observed_inputs
        parts = [observed_inputs[..., self.numeric]]
        parts += [observed_inputs[..., start : start + 1] for start, _ in self.blocks]
        return torch.cat(parts, dim=-1)[..., self.order]

    def numeric_part(self, tensor):
        return tensor if self.all_numeric else tensor[..., self.numeric]

    def numeric_mask(self, observed):
        """The observed mask of the numeric columns, from one over all columns."""
        if observed is None or self.all_numeric:
            return observed
        return observed[..., self.numeric_columns]

    def mean_log_jacobian(self, observed):
        """The mean over rows of log |d coded / d x|: minus the log scales of the observed numeric cells.

        What standardising adds to a row's log-density to make it the
        density of X itself. A float when ``observed`` is None (every row
        the same), else a 0-d tensor.
        """
        if observed is None:
            return self.complete_log_jacobian
        return -(self.log_scale * self.numeric_mask(observed)).sum(dim=-1).mean()

    def _block_exponentials(self, decoded):
        """exp(logit - its block's largest logit) of every categorical input, 0 at numeric inputs;
        and that largest logit of each block, shape (..., n_categorical)."""
        with torch.no_grad():  # the shift cancels out of every result: no gradient through it
            index = self.block_of_input.expand(decoded.shape)
            largest = decoded.new_full((*decoded.shape[:-1], len(self.blocks) + 1), float("-inf"))
            largest = largest.scatter_reduce(-1, index, decoded, reduce="amax")
            # At numeric inputs the shift is their own largest value, which the -inf below discards.
            shift = largest.gather(-1, index)
        shifted = torch.where(self.in_block, decoded - shift, float("-inf"))
        return torch.exp(shifted), largest[..., :-1]

    def _block_sums(self, decoded):
        """exp(logit - shift) of every input (see ``_block_exponentials``), their sum over each
        block, (..., n_categorical), and each block's shift."""
        exponentials, largest = self._block_exponentials(decoded)
        return exponentials, exponentials @ self.block_membership.to(decoded.dtype), largest

    def categorical_log_probs(self, x, decoded):
        """log p(category) of each categorical column (0 where missing), shape (..., n_categorical)."""
        return self._log_probs(x, decoded, *self._block_sums(decoded))

    def categorical_probabilities(self, decoded, numeric=None):
        """The decoder's outputs with each categorical block turned into probabilities, and
        ``numeric`` (by default the outputs themselves) at the numeric inputs."""
        numeric = decoded if numeric is None else numeric
        if not self.blocks:
            return numeric
        return self._probabilities(numeric, *self._block_sums(decoded)[:2])

    def categorical_log_probs_and_probabilities(self, x, decoded, numeric=None):
        """Both of the above from one pass over the blocks, as an imputer's draws need them (without
        categorical columns: None, and ``numeric``)."""
        numeric = decoded if numeric is None else numeric
        if not self.blocks:
            return None, numeric
        sums = self._block_sums(decoded)
        return self._log_probs(x, decoded, *sums), self._probabilities(numeric, *sums[:2])

    def _log_probs(self, x, decoded, exponentials, block_sums, largest):
        membership = self.block_membership.to(decoded.dtype)
        log_normaliser = torch.log(block_sums) + largest  # each block's logsumexp
        one_hot = torch.where(self.in_block, torch.nan_to_num(x, nan=0.0), 0.0).to(decoded.dtype)
        picked = (torch.where(self.in_block, decoded, 0.0) * one_hot) @ membership
        return picked - log_normaliser * (one_hot @ membership)

    def _probabilities(self, numeric, exponentials, block_sums):
        # Each input's block's sum, and 1 at numeric inputs (in the extra last block), whose 0 / 0
        # would send NaN through where's gradient.
        block_sums = torch.cat([block_sums, block_sums.new_ones((*block_sums.shape[:-1], 1))], dim=-1)
        input_sums = block_sums.gather(-1, self.block_of_input.expand(exponentials.shape))
        return torch.where(self.in_block, exponentials / input_sums, numeric)

    def column_terms(self, numeric_terms, observed, categorical_terms):
        """Per-column terms in the input's column order, from the numeric and categorical parts.

        Every term counts 0 where ``observed`` (the mask over all columns, or
        None) says a cell is missing, whatever the networks' input holds there
        (a refilled category's block holds probabilities);
        ``categorical_terms()`` gives the categorical columns' (..., n_categorical),
        asked for only when there are some.
        """
        numeric_observed = self.numeric_mask(observed)
        if numeric_observed is not None:
            numeric_terms = numeric_terms * numeric_observed
        if self.all_numeric:
            return numeric_terms
        terms = torch.cat([numeric_terms, categorical_terms()], dim=-1)[..., self.order]
        return terms if observed is None else terms * observed
