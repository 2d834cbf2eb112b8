"""Where each input column sits among the networks' inputs, as tensors on a device.

Built from a fitted :class:`~skvae._table.TableEncoder`: it turns a batch of
coded rows into the networks' input (missing cells filled) and the mask of
observed columns, and gathers per-column likelihood terms, one per input
column, in the input's order.
"""

import numpy as np
import torch


class ColumnLayout:
    """Tensors that say where each input column sits among the networks' inputs."""

    def __init__(self, table, device):
        widths, starts = table.widths, table.starts
        self.all_numeric = not table.categorical
        self.numeric = torch.as_tensor(table.numeric_positions, dtype=torch.long, device=device)
        self.numeric_columns = torch.as_tensor(table.numeric, dtype=torch.long, device=device)
        self.blocks = [(int(starts[j]), widths[j]) for j in table.categorical]
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

    def log_jacobian(self, observed):
        """log |d coded / d x| of each row: minus the log scales of its observed numeric cells.

        What standardising adds to a row's log-density to make it the
        density of X itself. One value for all rows when ``observed`` is None.
        """
        if observed is None:
            return -self.log_scale.sum()
        return -(self.log_scale * self.numeric_mask(observed)).sum(dim=-1)

    def categorical_log_probs(self, x, decoded):
        """log p(category) of each categorical column (0 where missing), shape (..., n_categorical)."""
        terms = []
        for start, size in self.blocks:
            logits = decoded[..., start : start + size]
            one_hot = torch.nan_to_num(x[..., start : start + size], nan=0.0)
            picked = (logits * one_hot).sum(dim=-1) - torch.logsumexp(logits, dim=-1) * one_hot.sum(dim=-1)
            terms.append(picked)
        return torch.stack(terms, dim=-1)

    def categorical_probabilities(self, decoded):
        """The decoder's outputs with each categorical block turned into probabilities."""
        if not self.blocks:
            return decoded
        parts, position = [], 0
        for start, size in self.blocks:
            parts += [decoded[..., position:start], torch.softmax(decoded[..., start : start + size], dim=-1)]
            position = start + size
        parts.append(decoded[..., position:])
        return torch.cat(parts, dim=-1)

    def column_terms(self, numeric_terms, observed, categorical_terms):
        """Per-column terms in the input's column order, from the numeric and categorical parts.

        ``numeric_terms`` (..., n_numeric) count 0 where ``observed`` (the
        mask over all columns, or None) says a cell is missing;
        ``categorical_terms()`` gives the categorical columns' (..., n_categorical),
        asked for only when there are some.
        """
        numeric_observed = self.numeric_mask(observed)
        if numeric_observed is not None:
            numeric_terms = numeric_terms * numeric_observed
        if self.all_numeric:
            return numeric_terms
        return torch.cat([numeric_terms, categorical_terms()], dim=-1)[..., self.order]
