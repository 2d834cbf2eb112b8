"""A fitted estimator's state as plain data, shared by pickle, joblib, skops and ``skvae.save``.

The torch modules become their ``state_dict`` as numpy arrays (float32 for
skvae's own networks; a user network's buffers keep their dtype) plus the
description of the architecture fit built them from (plain values, and
for a user network its factory); Adam's moments become arrays too. Every
other entry of the estimator's ``__dict__`` is plain Python and numpy data
already and passes through unchanged. So a pickle holds no torch object (a
model fitted on a GPU unpickles on a machine without one), and skops trusts
everything in the state but skvae's classes and a user network's factory,
which it lists for ``trusted=``.

Restoring rebuilds the networks from the description and checks every
array's name, dtype and shape against them (on torch's meta device, before
anything of that size is allocated). A state written by a newer skvae is
refused with a ValueError rather than misread.
"""

import copy

import numpy as np
import torch
from torch import nn

from ._architectures import BUILT_IN, check_network
from ._stream_sample import SAMPLE_ATTRIBUTES
from ._table import TableEncoder
from ._table_state import table_from_dict, table_to_dict
from ._training import make_optimizer

# Bumped whenever the layout below changes; restore reads every version up to it.
STATE_VERSION = 1
# The key under which the networks' state sits in the estimator's state.
STATE_KEY = "_skvae_networks"
_FLOAT32 = np.dtype(np.float32)


def _as_array(tensor):
    return tensor.detach().cpu().numpy().copy()


def get_state(estimator, state):
    """``state`` (the estimator's ``__dict__``) with its torch objects turned into plain data."""
    modules = {name[:-1]: value for name, value in state.items() if isinstance(value, nn.Module)}
    if not modules:
        return state  # unfitted: nothing to convert
    plain = {name: value for name, value in state.items() if not isinstance(value, nn.Module)}
    plain.pop("_optimizer", None)
    plain[STATE_KEY] = {
        "version": STATE_VERSION,
        # What the networks were built from at fit (the parameters may have changed since).
        "architecture": plain.pop("_fitted_architecture", None) or estimator._architecture(),
        "networks": {
            network: {name: _as_array(tensor) for name, tensor in module.state_dict().items()}
            for network, module in modules.items()
        },
        "optimizer": _optimizer_state(state.get("_optimizer")),
    }
    return plain


def _optimizer_state(optimizer):
    if optimizer is None:
        return None
    saved = optimizer.state_dict()
    return {
        # The groups make_optimizer builds: weights (with decay), then the rest.
        "learning_rate": float(saved["param_groups"][0]["lr"]),
        "weight_decay": float(saved["param_groups"][0]["weight_decay"]),
        "moments": {
            str(index): {name: _as_array(value) for name, value in moments.items()}
            for index, moments in saved["state"].items()
        },
    }


class InvalidState(ValueError):
    """A state that cannot be restored; ``reason`` says why, for callers that word their own error."""

    def __init__(self, reason):
        super().__init__(f"Cannot restore the skvae estimator: {reason}.")
        self.reason = reason


def expected_tensors(estimator_class, architecture):
    """{network: {name: (shape, numpy dtype)}} of the networks ``architecture`` describes.

    Built on torch's meta device: nothing of the tensors' size is allocated. A user network
    whose factory needs real tensors (one that moves its modules to a device, or reads a value)
    is built on the CPU instead.
    """
    return _tensor_shapes(_shape_only(estimator_class, architecture))


def expected_tensors_and_moments(estimator_class, architecture):
    """``expected_tensors``, and {index: shape} of the parameters Adam's moments are kept for,
    numbered as ``make_optimizer`` numbers them (the weights, then the biases): from one build."""
    modules = _shape_only(estimator_class, architecture)
    optimizer = make_optimizer(list(nn.ModuleDict(modules).parameters()), 1e-3, 0.0)
    order = [parameter for group in optimizer.param_groups for parameter in group["params"]]
    return _tensor_shapes(modules), {
        str(index): tuple(parameter.shape) for index, parameter in enumerate(order)
    }


def _tensor_shapes(modules):
    return {
        network: {
            name: (tuple(tensor.shape), _numpy_dtype(tensor.dtype))
            for name, tensor in module.state_dict().items()
        }
        for network, module in modules.items()
    }


def _shape_only(estimator_class, architecture):
    """The networks ``architecture`` describes, on the meta device where they build there."""
    try:
        return _build(estimator_class, architecture, device="meta")
    except InvalidState:
        raise
    except Exception:
        if architecture.get("network", "mlp") in BUILT_IN:
            raise  # skvae's own networks build there: never at full size for a file not checked yet
        return _build(estimator_class, architecture)  # a user's factory that needs real tensors


def _numpy_dtype(torch_dtype):
    try:
        return torch.empty(0, dtype=torch_dtype, device="cpu").numpy().dtype
    except TypeError:  # e.g. bfloat16, which numpy has not
        raise InvalidState(f"the networks hold {torch_dtype} tensors, which have no numpy dtype") from None


def _build(estimator_class, architecture, device="cpu"):
    """The networks ``architecture`` describes, built on ``device`` (whatever torch's default
    device is, as fit builds them)."""
    if not isinstance(architecture, dict):
        raise InvalidState("the architecture is not a dict")
    params = dict(architecture)
    n_features = params.pop("n_features", None)
    if not (isinstance(n_features, int) and not isinstance(n_features, bool) and n_features > 0):
        raise InvalidState(f"invalid n_features {n_features!r} in the architecture")
    n_numeric = params.pop("n_numeric", n_features)
    if not (isinstance(n_numeric, int) and not isinstance(n_numeric, bool) and 0 <= n_numeric <= n_features):
        raise InvalidState(f"invalid n_numeric {n_numeric!r} in the architecture")
    unknown = set(params) - set(estimator_class._get_param_names())
    if unknown:
        raise InvalidState(f"unknown architecture entries {sorted(unknown)}")
    try:
        builder = estimator_class(**params)
        builder._validate_params()
        hidden_layer_sizes = builder._hidden_layer_sizes()
        # What fit refuses before building (conv without input_shape, say) would fail inside the builder.
        check_network(builder, n_features, all_numeric=n_numeric == n_features)
    except (ValueError, TypeError) as exc:
        raise InvalidState(f"invalid architecture ({exc})") from None
    with torch.device(device):
        return builder._build_networks(n_features, hidden_layer_sizes, torch.Generator(), n_numeric=n_numeric)


def _check_array(where, array, shape, dtype=_FLOAT32):
    if not isinstance(array, np.ndarray) or array.dtype != dtype or array.shape != shape:
        found = f"{array.dtype} {array.shape}" if isinstance(array, np.ndarray) else type(array).__name__
        raise InvalidState(f"{where} holds {found}, expected {dtype} {shape}")


def restore_networks(estimator_class, saved):
    """The fitted torch modules, as ``{"encoder_": module, ...}``, and the optimizer from ``saved``."""
    # Ordinary tensors even when loaded under inference mode: a continued fit trains them.
    with torch.inference_mode(False):
        return _restore_networks(estimator_class, saved)


def _restore_networks(estimator_class, saved):
    if not isinstance(saved, dict) or not isinstance(saved.get("version"), int):
        raise InvalidState("the networks' state has no version")
    if saved["version"] > STATE_VERSION:
        raise InvalidState(
            f"its state has version {saved['version']}, from a newer skvae (this one reads up to "
            f"{STATE_VERSION}); upgrade skvae to load it"
        )
    expected = expected_tensors(estimator_class, saved.get("architecture"))
    arrays = saved.get("networks")
    if not isinstance(arrays, dict) or set(arrays) != set(expected):
        raise InvalidState(f"expected the networks {sorted(expected)}")
    for network, tensors in expected.items():
        if not isinstance(arrays[network], dict) or set(arrays[network]) != set(tensors):
            raise InvalidState(f"network {network!r} does not hold the tensors {sorted(tensors)}")
        for name, (shape, dtype) in tensors.items():
            _check_array(f"{network}/{name}", arrays[network][name], shape, dtype)

    modules = _build(estimator_class, saved["architecture"])
    for network, module in modules.items():
        module.load_state_dict(
            {name: torch.from_numpy(array.copy()) for name, array in arrays[network].items()}, strict=True
        )
        module.eval()
    optimizer = _restore_optimizer(nn.ModuleDict(modules), saved.get("optimizer"))
    return {f"{network}_": module for network, module in modules.items()}, optimizer


def _restore_optimizer(networks, saved):
    if saved is None:
        return None
    if not isinstance(saved, dict) or not isinstance(saved.get("moments"), dict):
        raise InvalidState("invalid optimizer state")
    parameters = list(networks.parameters())
    try:
        optimizer = make_optimizer(parameters, float(saved["learning_rate"]), float(saved["weight_decay"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidState(f"invalid optimizer state ({exc})") from None
    # make_optimizer numbers the parameters weights first, then biases.
    order = [p for group in optimizer.param_groups for p in group["params"]]
    moments = {}
    for key, values in saved["moments"].items():
        index = int(key) if isinstance(key, str) and key.isdigit() else -1
        if not 0 <= index < len(order) or not isinstance(values, dict):
            raise InvalidState(f"invalid optimizer state for parameter {key!r}")
        for name, value in values.items():
            shape = () if name == "step" else tuple(order[index].shape)
            _check_array(f"the optimizer's {name} of parameter {index}", value, shape)
        _check_moments(index, values)
        moments[index] = {name: torch.from_numpy(value.copy()) for name, value in values.items()}
    try:
        optimizer.load_state_dict({"state": moments, "param_groups": optimizer.state_dict()["param_groups"]})
    except (KeyError, ValueError, RuntimeError) as exc:
        raise InvalidState(f"invalid optimizer state ({exc})") from None
    return optimizer


def check_against_table(architecture, table, n_components):
    """Refuse networks that do not read the table's coded columns or write ``n_components`` codes
    (another model's networks beside this one's columns, in a tampered skops or skvae file)."""
    if not isinstance(table, TableEncoder):
        return
    built = {
        "n_features": architecture.get("n_features"),
        "n_numeric": architecture.get("n_numeric", architecture.get("n_features")),  # as _build reads it
        "n_components": architecture.get("n_components"),
    }
    implied = {"n_features": table.width, "n_numeric": len(table.numeric), "n_components": n_components}
    for name, value in implied.items():
        # A bool is an int to Python, and JSON may hold one (or a float) where a count should be.
        is_count = isinstance(built[name], int) and not isinstance(built[name], bool)
        if value is not None and (not is_count or built[name] != value):
            raise InvalidState(
                f"its networks have {name}={built[name]!r}, its columns and attributes {value}"
            )


def _check_moments(index, values):
    """Refuse Adam moments no training leaves: a step count that is not a whole number of at least
    1, non-finite averages, or a negative average of squares (a damaged or tampered state)."""
    step = values.get("step")
    whole = step is not None and np.isfinite(step) and step >= 1 and float(step) == np.floor(step)
    finite = all(np.isfinite(value).all() for value in values.values())
    if not (whole and finite and (values.get("exp_avg_sq", np.zeros(())) >= 0).all()):
        raise InvalidState(f"invalid optimizer state for parameter {index} (its values)")


class PlainStateMixin:
    """Pickling (and copying) of an estimator through the plain-data state above."""

    def __getstate__(self):
        # Plain data only (see _state): pickles, joblib and skops files hold
        # no torch object, and a model fitted on a GPU loads without one. The
        # table's columns go as a dict, which skops trusts.
        state = get_state(self, super().__getstate__())
        # partial_fit's sample of training rows stays in memory: a saved model holds no data.
        state = {name: value for name, value in state.items() if name not in SAMPLE_ATTRIBUTES}
        if isinstance(state.get("_table"), TableEncoder):
            state = {**state, "_table": table_to_dict(state["_table"])}
        return state

    def __copy__(self):
        # A shallow copy shares the networks, as copy.copy does for any object;
        # without this, copy.copy would go through the plain-data state.
        new = type(self).__new__(type(self))
        new.__dict__.update(self.__dict__)
        return new

    def __deepcopy__(self, memo):
        # Through the plain-data state, as a pickle, but a copy in memory keeps partial_fit's
        # sample of training rows: it goes on with a stream as the original would.
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        new.__setstate__(copy.deepcopy(self.__getstate__(), memo))
        for name in SAMPLE_ATTRIBUTES:
            if name in vars(self):
                setattr(new, name, copy.deepcopy(vars(self)[name], memo))
        return new

    def __setstate__(self, state):
        state = dict(state)
        if isinstance(state.get("_table"), dict):
            state["_table"] = table_from_dict(state["_table"])
        if STATE_KEY in state:
            saved = state.pop(STATE_KEY)
            modules, optimizer = restore_networks(type(self), saved)
            check_against_table(saved["architecture"], state.get("_table"), state.get("n_components_"))
            state.update(modules, _optimizer=optimizer, _fitted_architecture=saved["architecture"])
            # Pickled before n_components_ existed: the code size the networks have.
            n_components = saved["architecture"].get("n_components")
            if "n_components_" not in state and isinstance(n_components, int):
                state["n_components_"] = n_components
        super().__setstate__(state)
