"""Saving fitted estimators to a file, and loading them back, without pickle.

A skvae file is a zip archive of plain data: ``skvae.json`` holds the class
name, the parameters, the fitted attributes, the architecture fit built the
networks from and the versions that wrote it; ``tensors/<network>/<name>.npy``
holds each tensor of the networks, read back with ``allow_pickle=False``.
Loading builds the networks anew from that architecture (a file written
before it was saved: from the parameters, as it was then) and checks every
name, dtype and shape against them, so a file can describe a model but never
run code: only the five skvae estimators can be loaded, and anything else is
refused with a ValueError. The one exception is a user network, which the
file names by its dotted path: ``load`` imports it only when the caller lists
that path in ``trusted``. ``optimizer/<parameter>/<name>.npy`` holds Adam's
moments (format version 2; files of version 1 have none). The file holds the
state that pickle and skops store too (see ``_state``).
"""

import contextlib
import json
import os
import secrets
import zipfile
import zlib

import numpy as np
import sklearn
import torch
from sklearn.utils.fixes import parse_version
from sklearn.utils.validation import check_is_fitted

from ._autoencoder import AutoencoderTransformer
from ._autoencoder_detector import AutoencoderOutlierDetector
from ._imputer import VAEImputer
from ._saved_attributes import ATTRIBUTES, check_against_columns, set_attributes, to_json
from ._saved_optimizer import MOMENT_MEMBERS, optimizer_arrays, optimizer_from_json, optimizer_to_json
from ._saved_params import InvalidParams, decode_architecture, decode_params, encode_params
from ._state import STATE_KEY, STATE_VERSION, InvalidState, check_against_table, expected_tensors_and_moments
from ._table_state import table_from_dict, table_to_dict
from ._user_networks import check_trusted
from ._vae import VAETransformer
from ._vae_detector import VAEOutlierDetector
from ._warnings import warn

_FORMAT = "skvae"
# 2 adds Adam's state (``optimizer/``), which a skvae reading 1 only would refuse as an unknown member.
_FORMAT_VERSION = 2
_READABLE_FORMAT_VERSIONS = (1, 2)
_METADATA = "skvae.json"
_TENSORS = "tensors/"
_MAX_METADATA_BYTES = 64 * 2**20
# An .npy header is at most this long for the arrays skvae writes.
_MAX_HEADER_BYTES = 4096
# What zipfile raises on a damaged archive: a bad CRC or header, compressed data that
# does not inflate, or a flipped bit naming a compression or feature it lacks (a member
# flagged as encrypted is a RuntimeError).
_DAMAGED = (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError)
_CLASSES = {
    cls.__name__: cls
    for cls in (
        AutoencoderTransformer,
        VAETransformer,
        AutoencoderOutlierDetector,
        VAEOutlierDetector,
        VAEImputer,
    )
}


def _versions():
    from . import __version__

    return {"skvae": __version__, "scikit-learn": sklearn.__version__, "torch": torch.__version__}


# -- saving ---------------------------------------------------------------------


# The category labels JSON writes and reads back as they were (a pickle keeps any).
_LABELS = (str, int, float, bool)


def _columns(estimator):
    """The table's description, refused up front when a category label is one JSON cannot hold."""
    columns = table_to_dict(estimator._table)
    names = getattr(estimator, "feature_names_in_", None)
    for j, labels in zip(columns["categorical"], columns["categories"], strict=True):
        unsaved = next((label for label in labels if not isinstance(label, _LABELS)), None)
        if unsaved is not None:
            column = str(names[j]) if names is not None else j
            raise ValueError(
                f"Cannot save column {column!r}: its categories include labels of type "
                f"{type(unsaved).__name__} (such as {unsaved!r}), and a skvae file holds only str, int, "
                f"float and bool labels. Fit on the column with its categories converted to strings, or "
                f"save with pickle or joblib, which keep any label."
            )
    return columns


def save(estimator, path):
    """Save a fitted skvae estimator to one file, in a format that holds no code.

    The file is a zip archive of JSON (the class, its parameters, the fitted
    attributes, the versions of skvae, scikit-learn and torch) and of the
    networks' tensors as ``.npy`` arrays. :func:`load` reads it back without
    unpickling anything. Adam's state is saved too (as arrays), so that
    ``partial_fit`` on the loaded model goes on as it would have.

    Parameters
    ----------
    estimator : AutoencoderTransformer, VAETransformer, AutoencoderOutlierDetector, VAEOutlierDetector \
or VAEImputer
        A fitted estimator. Its parameters must be None, numbers, strings,
        sequences of them or dicts with string keys (an int or None
        ``random_state``, not a ``RandomState`` instance); a user ``network``
        must be importable by its dotted path (defined at module level, not
        in ``__main__``). The categories of its categorical columns must be
        str, int, float or bool (not the Intervals of ``pd.cut``, say).

    path : str or path-like
        Where to write the file; an existing file is replaced once the new
        one is complete (a save that fails leaves it as it was).

    See Also
    --------
    load : Read the file back.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from skvae import AutoencoderTransformer, load, save
    >>> X = np.random.RandomState(0).normal(size=(100, 5))
    >>> ae = AutoencoderTransformer(max_iter=5, random_state=0).fit(X)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.skvae")
    >>> save(ae, path)
    >>> np.array_equal(load(path).transform(X), ae.transform(X))
    True
    """
    if _CLASSES.get(type(estimator).__name__) is not type(estimator):
        raise TypeError(
            f"save takes one of the skvae estimators ({', '.join(_CLASSES)}), got {type(estimator).__name__}."
        )
    check_is_fitted(estimator)
    params = encode_params(estimator.get_params(deep=False))
    # The state that pickle and skops store too.
    state = estimator.__getstate__()
    attributes = {}
    for name in ATTRIBUTES:
        if name in state:
            attributes[name] = to_json(name, state[name])
    architecture = state[STATE_KEY]["architecture"]
    optimizer = state[STATE_KEY]["optimizer"]
    metadata = {
        "format": _FORMAT,
        "format_version": _FORMAT_VERSION,
        "class": type(estimator).__name__,
        "params": params,
        "attributes": attributes,
        "columns": _columns(estimator),
        # Added within format version 1: a file without it is rebuilt from its parameters.
        "architecture": encode_params(architecture, fitted=True),
        "versions": _versions(),
    }
    if optimizer is not None:
        # Added in format version 2: a file without it continues with a fresh Adam.
        metadata["optimizer"] = optimizer_to_json(optimizer)
    text = json.dumps(metadata, indent=1)
    # Written beside the target and moved over it once complete: a save that
    # fails leaves the file there as it was. Mode "x" (not a tempfile, which
    # is private to its owner) gives the file the permissions open() gives.
    temporary = f"{os.fspath(path)}.{secrets.token_hex(8)}.tmp"
    try:
        with zipfile.ZipFile(temporary, "x", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(_METADATA, text)
            arrays = {
                f"{_TENSORS}{network}/{name}.npy": array
                for network, tensors in state[STATE_KEY]["networks"].items()
                for name, array in tensors.items()
            }
            if optimizer is not None:
                arrays.update(optimizer_arrays(optimizer))
            for member, array in arrays.items():
                with archive.open(member, "w") as file:
                    np.lib.format.write_array(file, array, allow_pickle=False)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


# -- loading --------------------------------------------------------------------


def _refuse(path, reason):
    return ValueError(f"{path} is not a valid skvae file: {reason}.")


def _read_metadata(archive, path):
    names = archive.namelist()
    if _METADATA not in names:
        raise _refuse(path, f"it has no {_METADATA}")
    if len(set(names)) != len(names):
        raise _refuse(path, "it has duplicate entries")
    if archive.getinfo(_METADATA).file_size > _MAX_METADATA_BYTES:
        raise _refuse(path, f"{_METADATA} is too large")
    try:
        content = archive.read(_METADATA)
    except (*_DAMAGED, OSError, EOFError) as exc:
        raise _refuse(path, f"{_METADATA} is damaged ({exc})") from None
    try:
        metadata = json.loads(content)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise _refuse(path, f"{_METADATA} is not JSON ({exc})") from None
    if not isinstance(metadata, dict) or metadata.get("format") != _FORMAT:
        raise _refuse(path, f"{_METADATA} does not describe a skvae model")
    for key, kind in (("class", str), ("params", dict), ("attributes", dict), ("versions", dict)):
        if not isinstance(metadata.get(key), kind):
            raise _refuse(path, f"'{key}' is missing or not a {kind.__name__}")
    version = metadata.get("format_version")
    if type(version) is not int or version not in _READABLE_FORMAT_VERSIONS:
        readable = " and ".join(map(str, _READABLE_FORMAT_VERSIONS))
        error = _refuse(path, f"format version {version!r} (this skvae reads {readable})")
        raise _from_newer_skvae(error, metadata["versions"])
    return metadata


def _from_newer_skvae(error, saved):
    """``error``, saying so where a newer skvae wrote the file (whose parameters and attributes
    this one may not know)."""
    current_version = _versions()["skvae"]
    saved_version = str(saved.get("skvae", ""))
    try:
        newer = parse_version(saved_version) > parse_version(current_version)
    except (TypeError, ValueError):
        newer = False
    if not newer:
        return error
    return ValueError(
        f"{error} It was written by skvae {saved_version}: upgrade skvae (this is {current_version})."
    )


def _warn_on_version_mismatch(saved, path):
    current = _versions()
    # The local part (+cpu, +cu121) names a build, not a version.
    differ = {
        name: version
        for name, version in current.items()
        if str(saved.get(name, "unknown")).split("+")[0] != version.split("+")[0]
    }
    if differ:
        then = ", ".join(f"{name} {saved.get(name, 'unknown')}" for name in differ)
        now = ", ".join(f"{name} {version}" for name, version in differ.items())
        warn(
            f"{path} was saved with {then} and is loaded with {now}; "
            "check that the model still gives the outputs you expect."
        )


def _make_estimator(metadata, path, trusted):
    cls = _CLASSES.get(metadata["class"])
    if cls is None:
        raise _refuse(
            path, f"class {metadata['class']!r} is not one of the skvae estimators ({', '.join(_CLASSES)})"
        )
    try:
        params = decode_params(cls, metadata["params"], trusted, path)
    except InvalidParams as exc:
        raise _refuse(path, str(exc)) from None
    estimator = cls(**params)
    try:
        estimator._validate_params()
        estimator._hidden_layer_sizes()  # called for its check of the sizes' values
    except (ValueError, TypeError) as exc:
        raise _refuse(path, f"invalid parameters ({exc})") from None

    try:
        set_attributes(estimator, metadata["attributes"])
    except ValueError as exc:
        raise _refuse(path, str(exc)) from None
    try:
        estimator._table = table_from_dict(metadata.get("columns"))
    except (ValueError, TypeError) as exc:
        raise _refuse(path, str(exc)) from None
    n_features = estimator.n_features_in_
    if estimator._table.n_columns != n_features:
        raise _refuse(path, f"its columns describe {estimator._table.n_columns} features, not {n_features}")
    try:
        check_against_columns(estimator, metadata["attributes"])
    except ValueError as exc:
        raise _refuse(path, str(exc)) from None
    return estimator


def _saved_architecture(metadata, estimator, path, trusted):
    """What fit built the networks from; for a file written before it was saved, the parameters."""
    if "architecture" not in metadata:
        return estimator._architecture()
    if not isinstance(metadata["architecture"], dict):
        raise _refuse(path, "'architecture' is not a dict")
    try:
        architecture = decode_architecture(metadata["architecture"], trusted, path)
    except InvalidParams as exc:
        raise _refuse(path, str(exc)) from None
    # Every file that records the architecture records n_numeric, which a pickle may lack.
    if "n_numeric" not in architecture:
        raise _refuse(path, "its architecture has no n_numeric")
    try:
        check_against_table(architecture, estimator._table, estimator.n_components_)
    except InvalidState as exc:
        raise _refuse(path, exc.reason) from None
    return architecture


_NPY_HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


@contextlib.contextmanager
def _reading(member, path):
    """Refuse, naming ``member``, an entry that does not read as a plain ``.npy`` array."""
    try:
        yield
    except _DAMAGED as exc:
        raise _refuse(path, f"{member} is damaged ({exc})") from None
    except (ValueError, OSError, EOFError) as exc:  # object arrays (pickles) are ValueErrors here
        raise _refuse(path, f"{member} is not a plain array ({exc})") from None


def _check_header(archive, member, shape, dtype, path):
    """Refuse an entry whose .npy header is not a ``dtype`` array of ``shape`` (before reading any data)."""
    if archive.getinfo(member).file_size > dtype.itemsize * int(np.prod(shape)) + _MAX_HEADER_BYTES:
        raise _refuse(path, f"{member} is larger than a {dtype} array of shape {shape}")
    with _reading(member, path), archive.open(member) as file:
        version = np.lib.format.read_magic(file)
        if version not in _NPY_HEADER_READERS:
            raise ValueError(f".npy format version {version}")
        stored_shape, _, stored_dtype = _NPY_HEADER_READERS[version](file)
    if stored_dtype != dtype or stored_shape != shape:
        raise _refuse(path, f"{member} holds {stored_dtype} {stored_shape}, expected {dtype} {shape}")


def _read_tensor(archive, member, path):
    """The array in ``member``, whose header ``_check_header`` has checked (``_state`` checks the
    array itself again, as it does a pickle's)."""
    with _reading(member, path), archive.open(member) as file:
        return np.lib.format.read_array(file, allow_pickle=False)


def _read_model(archive, metadata, path, trusted):
    """The estimator the metadata describes, its architecture, the networks' arrays and Adam's
    saved state (None without one), every member checked before it is read."""
    estimator = _make_estimator(metadata, path, trusted)
    _warn_on_version_mismatch(metadata["versions"], path)
    # The shapes the architecture implies, checked against the file before
    # reading data.
    architecture = _saved_architecture(metadata, estimator, path, trusted)
    try:
        tensors, moment_shapes = expected_tensors_and_moments(type(estimator), architecture)
    except InvalidState as exc:
        raise _refuse(path, exc.reason) from None
    expected = {
        f"{_TENSORS}{network}/{name}.npy": (network, name, shape, dtype)
        for network, network_tensors in tensors.items()
        for name, (shape, dtype) in network_tensors.items()
    }
    optimizer = None
    if metadata.get("optimizer") is not None:  # none in a file of format version 1: a fresh Adam
        try:
            optimizer, moment_members = optimizer_from_json(metadata["optimizer"], moment_shapes)
        except ValueError as exc:
            raise _refuse(path, str(exc)) from None
        expected.update(moment_members)
    members = set(archive.namelist()) - {_METADATA}
    if members != set(expected):
        missing, unexpected = sorted(set(expected) - members), sorted(members - set(expected))
        raise _refuse(path, f"tensors missing {missing}, unexpected entries {unexpected}")
    for member, (_, _, shape, dtype) in expected.items():
        _check_header(archive, member, shape, dtype, path)
    arrays = {network: {} for network in tensors}
    for member, (network, name, _, _) in expected.items():
        array = _read_tensor(archive, member, path)
        if member.startswith(MOMENT_MEMBERS):
            optimizer["moments"][network][name] = array
        else:
            arrays[network][name] = array
    return estimator, architecture, arrays, optimizer


def load(path, *, trusted=None):
    """Load an estimator saved by :func:`save`.

    The file is read as data only -- JSON and ``.npy`` arrays, never a
    pickle. Its class must be one of the five skvae estimators, and every
    parameter, attribute and tensor must be what that class's networks
    need; anything else is refused with a ValueError. A file written by other
    versions of skvae, scikit-learn or torch loads with a UserWarning.

    A model with a user network (``network=`` a function or class) names it
    by its dotted path; loading imports and runs that code, so it is refused
    unless the path is in ``trusted``.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.

    trusted : list of str, default=None
        Dotted paths of the user networks (e.g.
        ``["mypackage.networks.make_conv"]``) that may be imported to rebuild
        the model, as in ``skops.io.load``.

    Returns
    -------
    estimator : AutoencoderTransformer, VAETransformer, AutoencoderOutlierDetector, VAEOutlierDetector \
or VAEImputer
        The fitted estimator, its networks on the CPU in evaluation mode.

    See Also
    --------
    save : Write the file.

    Notes
    -----
    Adam's state is saved with the networks: ``partial_fit`` on a loaded
    estimator goes on as it would have without the round trip (but for the
    sample of rows seen that its later calibrations read, which is not
    saved); a file written before Adam's state was saved continues with a
    fresh optimizer. The networks are loaded on the CPU whatever the
    ``device`` parameter says; fitting moves them to ``device``.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from skvae import VAEOutlierDetector, load, save
    >>> X = np.random.RandomState(0).normal(size=(100, 5))
    >>> detector = VAEOutlierDetector(max_iter=5, random_state=0).fit(X)
    >>> path = os.path.join(tempfile.mkdtemp(), "detector.skvae")
    >>> save(detector, path)
    >>> loaded = load(path)
    >>> np.array_equal(loaded.predict(X), detector.predict(X))
    True
    """
    check_trusted(trusted)
    path = os.fspath(path)  # a TypeError for anything but a path, as save gives
    try:
        archive = zipfile.ZipFile(path)
    except _DAMAGED:
        raise _refuse(path, "it is not a zip archive") from None
    with archive:
        metadata = _read_metadata(archive, path)
        try:
            estimator, architecture, arrays, optimizer = _read_model(archive, metadata, path, trusted)
        except ValueError as exc:
            raise _from_newer_skvae(exc, metadata["versions"]) from None
    # Rebuilt as pickle and skops rebuild it; a file without Adam's state
    # (written before it was saved) continues with a fresh one (see _fitting._ready_optimizer).
    networks = {
        "version": STATE_VERSION,
        "architecture": architecture,
        "networks": arrays,
        "optimizer": optimizer,
    }
    estimator.__setstate__({**vars(estimator), STATE_KEY: networks})
    return estimator
