"""The parameters a skvae file holds: how each is written as JSON, checked and read back.

``_persistence`` owns the file; this module owns the estimator's parameters
and the architecture fit built the networks from, a dict of the same kinds
of values, written the same way. A value is None, a bool, a number, a
string, or a list, tuple or string-keyed dict of them; JSON has only lists
and objects, so a tuple is written as ``{"tuple": [...]}`` and a dict as
``{"dict": {...}}``, and both come back as they were; pandas' NA (a
``missing_values``) is written as ``{"NA": null}``. A user network is
written as ``{"network": "<dotted path>"}`` and imported back only when the
caller trusts that path (a ValueError of its own otherwise). Anything else
in the file raises :class:`InvalidParams`, which ``load`` reports as an
invalid file.
"""

from numbers import Integral, Real

import numpy as np
import pandas as pd

from ._user_networks import dotted_path, import_trusted

# Parameters added since format version 1, with the values that give what a
# file without them describes (the detectors trained on every row before
# robust_threshold existed).
_ADDED_PARAMS = {"network": "mlp", "network_params": None, "input_shape": None, "robust_threshold": None}


class InvalidParams(ValueError):
    """Saved parameters or architecture that ``encode_params`` did not write; the message says why."""


def encode_params(values, *, fitted=False):
    """``{name: value}`` as JSON values; a ValueError names a value a file cannot hold."""
    # The architecture fit built the networks from (``fitted``) set_params cannot change.
    advice = (
        "Refit with network_params of those kinds, or save with pickle or skops."
        if fitted
        else "Set it to one (e.g. an int random_state) with set_params first."
    )
    return {name: _encode(name, value, advice) for name, value in values.items()}


def decode_params(cls, saved, trusted, path):
    """The parameters of ``cls`` that ``saved`` (``encode_params``' output) holds."""
    params = decode_architecture(saved, trusted, path)
    expected = set(cls._get_param_names())
    # Files written before these parameters existed describe what these values build.
    added = {name: value for name, value in _ADDED_PARAMS.items() if name in expected and name not in params}
    params = {**added, **params}
    if set(params) != expected:
        missing, unknown = sorted(expected - set(params)), sorted(set(params) - expected)
        raise InvalidParams(f"parameters of {cls.__name__} missing {missing}, unknown {unknown}")
    return params


def decode_architecture(saved, trusted, path):
    """The values ``saved`` (``encode_params``' output) holds, a user network imported if ``trusted``."""
    return {name: _decode(value, trusted, path) for name, value in saved.items()}


def _encode(name, value, advice):
    if value is None or isinstance(value, (bool, str)):
        return value
    if value is pd.NA:
        return {"NA": None}
    if isinstance(value, np.bool_):  # a boolean mask's items
        return bool(value)
    if name == "network" and callable(value):
        return {"network": dotted_path(value)}
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {"dict": {key: _encode(f"{name}[{key!r}]", item, advice) for key, item in value.items()}}
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        return float(value)
    if isinstance(value, (tuple, list, np.ndarray, pd.Index, pd.Series)):  # loaded back as a list
        items = [_encode(f"{name}[{i}]", item, advice) for i, item in enumerate(value)]
        return {"tuple": items} if isinstance(value, tuple) else items
    raise ValueError(
        f"Cannot save the parameter {name}={value!r}: a skvae file holds None, numbers, strings, "
        f"sequences of them and dicts with string keys. {advice}"
    )


def _decode(value, trusted, path):
    if isinstance(value, float) and np.isnan(value):
        return np.nan  # np.nan itself, so that get_params() compares equal as it did before saving
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [_decode(item, trusted, path) for item in value]
    if isinstance(value, dict) and len(value) == 1:
        ((tag, items),) = value.items()
        if tag == "tuple" and isinstance(items, list):
            return tuple(_decode(item, trusted, path) for item in items)
        if tag == "dict" and isinstance(items, dict):
            return {key: _decode(item, trusted, path) for key, item in items.items()}
        if tag == "NA" and items is None:
            return pd.NA
        if tag == "network" and isinstance(items, str):
            return import_trusted(items, trusted, path)
    raise InvalidParams(f"unexpected parameter value {value!r}")
