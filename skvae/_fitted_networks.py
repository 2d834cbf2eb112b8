"""The networks a fit builds: made from the parameters, recorded, checked and forgotten.

A fit builds its networks from the parameters (``_build_networks``) and
records what it built them from, so that pickles and saved files rebuild the
same networks whatever ``set_params`` has changed since; going on training
(``warm_start``, ``partial_fit``) refuses parameters that now describe other
networks; and a fit that fails gives back the model fitted before it, or
forgets them all.
"""

import copy
import itertools
from numbers import Integral

import numpy as np
import torch
from sklearn.utils import check_random_state
from torch import nn

from ._architectures import check_network, check_user_networks
from ._column_kinds import plain
from ._stream_sample import SAMPLE_ATTRIBUTES
from ._training import snapshot

# What fit learns besides the attributes ending in "_": a failed fit leaves none of it behind,
# but what was fitted before it (a stale _n_calibration_rows kept the next partial_fit from
# calibrating).
_PRIVATE_FITTED = (
    "_table",
    "_fitted_architecture",
    "_seed",
    "_n_steps",
    "_n_calibration_rows",
    "_anchor_codes",
    "_residual_weights",
    "_surprise_divisor",
    "_n_draws",
    "_refills_missing",
    "_n_unlisted_seen",
)


def _is_fitted_state(name):
    """Whether an attribute is fit's: the fitted attributes and the private state fit keeps (not
    the parameters, nor what a fit call holds while it runs, as scikit-learn's callbacks do)."""
    return name.endswith("_") or name in _PRIVATE_FITTED or name in SAMPLE_ATTRIBUTES or name == "_optimizer"


class FittedNetworksMixin:
    """The fitted networks of :class:`~skvae._base.BaseAutoencoder`."""

    def _initialize(self, n_features, device):
        """Fresh networks, seed and history for a new fit."""
        self._forget_fit(keep=("n_features_in_", "feature_names_in_", "_table"))
        check_network(self, n_features, all_numeric=not self._table.categorical)
        self._seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        n_components = self._resolved_n_components(n_features)
        if isinstance(n_components, bool):  # an Integral to scikit-learn's constraints, not a width
            raise ValueError(
                f"The 'n_components' parameter of {type(self).__name__} must be an int in the range "
                f"[1, inf). Got {n_components!r} instead."
            )
        self.n_components_ = int(n_components)
        self.n_iter_ = 0
        self.loss_curve_ = []
        self._n_steps = 0
        # Built on the CPU, where the generator is, whatever torch.set_default_device says: the
        # device parameter says where they go.
        with torch.device("cpu"):
            modules = self._build_networks(
                n_features,
                self._hidden_layer_sizes(),
                torch.Generator().manual_seed(self._seed),
                n_numeric=len(self._table.numeric),
            )
        for name, module in modules.items():
            setattr(self, f"{name}_", module.to(device))
        # Pickle and save rebuild the networks from this record, not from the
        # parameters, which set_params may have changed since.
        self._fitted_architecture = copy.deepcopy(self._architecture())  # network_params may change in place
        self._optimizer = None
        try:
            check_user_networks(self, n_features)
        except ValueError:
            self._forget_fit()  # no half-built model
            raise

    def _check_same_networks(self):
        """Refuse to go on training (warm_start, partial_fit) when the parameters now describe
        other networks, or other columns, than those fit built: they would be ignored."""
        fitted = getattr(self, "_fitted_architecture", None)
        if fitted is None:
            return
        # n_components="auto" goes on with what fit resolved: the rule may have changed since
        # (a model saved before "auto" stayed below the inputs still trains on).
        n_components = self.n_components_ if self.n_components == "auto" else self.n_components
        now = {**self._architecture(), "n_components": n_components}
        changed = [name for name in now if name in fitted and _plain(now[name]) != _plain(fitted[name])]
        # The columns too: the table fit learnt codes every later call's rows as it did.
        table = self._table
        fitted = {**fitted, "standardize": table.standardize}
        fitted["categorical_features"] = table.categorical_features
        now["standardize"], now["categorical_features"] = self._standardize(), self.categorical_features
        # "auto" and the bool it resolved to code the columns alike.
        if table.standardizes(now["standardize"]) != table.standardized:
            changed.append("standardize")
        if _plain(now["categorical_features"]) != _plain(fitted["categorical_features"]):
            changed.append("categorical_features")
        if changed:
            described = ", ".join(f"{name}={now[name]!r} (fitted: {fitted[name]!r})" for name in changed)
            raise ValueError(
                f"{type(self).__name__} goes on training the networks it has fitted, but {described}. "
                "Set the parameters back, or call fit with warm_start=False to build new networks."
            )

    def _architecture(self):
        """What ``_build_networks`` needs to build the networks the parameters and columns describe now.

        Plain values, but for a user network: its factory (pickled by reference).
        """
        return {
            # The networks' own widths: categorical columns take one input per category.
            "n_features": int(self._table.width),
            "n_numeric": len(self._table.numeric),
            "hidden_layer_sizes": self._hidden_layer_sizes(),
            **{name: getattr(self, name) for name in self._architecture_params},
            "n_components": self.n_components_,
        }

    def _forget_fit(self, keep=()):
        """Remove the fitted attributes (but those in ``keep``)."""
        for name in [name for name in vars(self) if _is_fitted_state(name) and name not in keep]:
            delattr(self, name)
        self._optimizer = None

    def _fitted_state(self, in_place=True):
        """What a fit may change, to give back if it fails: fit's attributes, and, for a fit that
        trains the networks ``in_place`` (a continued one), the networks' tensors and Adam's
        moments; a new fit builds new networks and leaves the old ones as they are."""
        attributes = {name: value for name, value in vars(self).items() if _is_fitted_state(name)}
        optimizer = attributes.get("_optimizer")
        weights = snapshot(self._networks()) if in_place else None
        moments = None
        if in_place and optimizer is not None:
            moments = {parameter: _cloned(state) for parameter, state in optimizer.state.items()}
        return attributes, weights, moments, self._device()

    def _restore_fitted_state(self, state):
        attributes, weights, moments, device = state
        for name in [name for name in vars(self) if _is_fitted_state(name)]:
            delattr(self, name)
        vars(self).update(attributes)
        networks = self._networks()
        # Back on their device, should the call have moved them (a loaded model continued on a GPU);
        # Module.to keeps the parameters, which Adam's state is keyed by.
        networks.to(device)
        if weights is not None:
            networks.load_state_dict(weights)
        networks.eval()
        if moments is not None:
            self._optimizer.state.clear()
            self._optimizer.state.update(moments)

    def _forget_stream_sample(self):
        for name in SAMPLE_ATTRIBUTES:
            vars(self).pop(name, None)

    def _hidden_layer_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, Integral) else list(sizes)
        if not all(isinstance(size, Integral) and not isinstance(size, bool) and size > 0 for size in sizes):
            raise ValueError(
                f"hidden_layer_sizes must contain positive integers only, got {self.hidden_layer_sizes!r}."
            )
        return [int(size) for size in sizes]

    def _networks(self):
        """All fitted torch modules as one ``nn.ModuleDict`` (sharing their parameters)."""
        return nn.ModuleDict(
            {name[:-1]: module for name, module in vars(self).items() if isinstance(module, nn.Module)}
        )

    def _device(self):
        """Where the fitted networks are: their first tensor's device (a user's decoder may hold
        buffers only)."""
        networks = self._networks()
        tensor = next(itertools.chain(networks.parameters(), networks.buffers()), None)
        return torch.device("cpu") if tensor is None else tensor.device


def _cloned(state):
    """A parameter's optimizer state, its tensors copied."""
    return {key: value.clone() if torch.is_tensor(value) else value for key, value in state.items()}


def _plain(value):
    """As a saved file gives it back: ``plain``'s lists for tuples and arrays (which parameter
    validation takes as array-like), within lists and dicts too."""
    value = plain(value)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value
