"""Networks the user brings: ``network=factory`` with ``network_params``.

The factory is a function or class defined at module level, called as
``factory(n_features=..., n_components=..., input_shape=..., **network_params)``;
it returns ``(encoder, decoder)`` torch modules, or one module with ``encoder``
and ``decoder`` attributes. This module calls it reproducibly, checks what
its networks return, and names it by an importable dotted path, which is
what a saved model holds instead of code.
"""

import importlib
import itertools
import threading
from contextlib import contextmanager

import torch
from torch import nn
from torch.nn.modules.lazy import LazyModuleMixin

# The arguments skvae passes itself; network_params cannot set them.
RESERVED_ARGUMENTS = ("n_features", "n_components", "input_shape")

# torch's global RNG is the process's: one user network at a time draws from it. Re-entrant:
# a callback may copy (rebuild) the estimator it is training.
_GLOBAL_RNG_LOCK = threading.RLock()


@contextmanager
def seeded_global_rng(seed, device=None):
    """torch's global RNG seeded from ``seed`` inside the block and as it was after it.

    A user network initialises its layers from it and may draw from it while
    training (dropout), so that fitting neither depends on nor changes the
    user's RNG state, and two threads fitting user networks take turns.
    """
    index = None
    if device is not None and device.type == "cuda":
        index = torch.cuda.current_device() if device.index is None else device.index
    with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=[] if index is None else [index]):
        # Only the generators forked here: torch.manual_seed would seed every GPU's as well.
        torch.default_generator.manual_seed(seed)
        if index is not None:
            with torch.cuda.device(index):
                torch.cuda.manual_seed(seed)
        yield


@contextmanager
def _float32_by_default():
    """torch's default dtype float32 inside the block (under _GLOBAL_RNG_LOCK: it is global too)."""
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        yield
    finally:
        torch.set_default_dtype(default)


def check_factory(network, network_params):
    """Refuse what cannot be a factory before anything is built."""
    if isinstance(network, nn.Module):
        # A module instance would be trained in place and shared by every
        # clone of the estimator (skorch issues #376, #741), and could not be
        # saved without pickling its code.
        raise TypeError(
            f"network must be 'mlp', 'conv', or a function or class that builds the networks, got an "
            f"instance of {type(network).__name__}. Pass its class (or a function returning (encoder, "
            "decoder)) and its arguments as network_params: every fit then builds fresh networks, and "
            "clones never share weights."
        )
    reserved = sorted(set(network_params or {}) & set(RESERVED_ARGUMENTS))
    if reserved:
        raise ValueError(
            f"network_params cannot set {reserved}: skvae passes n_features, n_components and "
            "input_shape to the network itself."
        )


def build_user_networks(factory, network_params, *, n_features, n_components, input_shape, seed):
    """Call the factory with torch's RNG seeded from ``seed``, and float32 as torch's default dtype
    (skvae's networks compute in float32 whatever the process's default: a model fitted in one
    process loads in another); the (encoder, decoder) it builds."""
    with seeded_global_rng(seed), _float32_by_default():
        built = factory(
            n_features=n_features,
            n_components=n_components,
            input_shape=input_shape,
            **(network_params or {}),
        )
    if isinstance(built, nn.Module) and hasattr(built, "encoder") and hasattr(built, "decoder"):
        built = (built.encoder, built.decoder)
    if isinstance(built, list):
        built = tuple(built)
    if not (isinstance(built, tuple) and len(built) == 2 and all(isinstance(m, nn.Module) for m in built)):
        raise TypeError(
            f"network={_name(factory)} must return (encoder, decoder), two torch modules (or one module with "
            f"encoder and decoder attributes), got {_describe(built)}."
        )
    for module in built:
        module.register_forward_pre_hook(_own_copy_of_inputs)
    return built


def _own_copy_of_inputs(module, inputs):
    """A user network's inputs, copied: the batch may share memory with the user's array (or a
    read-only memory map), and the network may write into its input (``nn.ReLU(inplace=True)`` first)."""
    return tuple(value.clone() if isinstance(value, torch.Tensor) else value for value in inputs)


def check_output_shapes(encoder, decoder, *, n_features, n_components, variational, factory):
    """Run the networks on a batch of two rows; a ValueError that says which returned what if wrong."""
    if not any(p.requires_grad for p in (*encoder.parameters(), *decoder.parameters())):
        raise ValueError(
            f"network={_name(factory)} returned networks with no trainable parameter: there is nothing "
            "to fit. Give the encoder or the decoder a layer with weights."
        )
    _refuse_lazy(encoder, decoder, factory)
    _check_float32(encoder, decoder, factory)
    # The first tensor's device: an encoder may hold buffers only (a fixed projection).
    first = next(itertools.chain(encoder.parameters(), encoder.buffers(), decoder.parameters()), None)
    device = torch.device("cpu") if first is None else first.device
    rows = torch.zeros(2, n_features, device=device, dtype=torch.float32)
    expected_code = f"a tensor of shape (2, {n_components}) (n_components={n_components})"
    if variational:
        expected_code = f"a pair (mean, log_variance) of tensors of shape (2, {n_components})"
    modes = encoder.training, decoder.training
    encoder.eval(), decoder.eval()  # a check must not update batch statistics
    try:
        with torch.no_grad():
            code = _call(encoder, "encoder", rows, factory)
            parts = tuple(code) if variational and isinstance(code, (tuple, list)) else (code,)
            if len(parts) != (2 if variational else 1) or not all(_is_rows(p, n_components) for p in parts):
                raise ValueError(
                    f"The encoder of network={_name(factory)} returned {_describe(code)} for a batch of 2 "
                    f"rows of {n_features} features; it must return {expected_code}."
                )
            decoded = _call(decoder, "decoder", parts[0], factory)
            if not _is_rows(decoded, n_features):
                raise ValueError(
                    f"The decoder of network={_name(factory)} returned {_describe(decoded)} for a batch of 2 "
                    f"codes; it must return a tensor of shape (2, {n_features}) (n_features={n_features})."
                )
    finally:
        encoder.train(modes[0]), decoder.train(modes[1])


def _refuse_lazy(encoder, decoder, factory):
    """Refuse lazy layers (LazyLinear, ...): their shapes come from a first batch, and a saved
    model is rebuilt, and its arrays checked, before any batch."""
    for role, module in (("encoder", encoder), ("decoder", decoder)):
        lazy = [
            f"{type(part).__name__} {name!r}"
            for name, part in module.named_modules()
            if isinstance(part, LazyModuleMixin)
        ]
        if lazy:
            raise ValueError(
                f"The {role} of network={_name(factory)} holds lazy layers ({lazy[0]}), whose sizes "
                "come from a first batch: a saved model could not be rebuilt. Give the layers their "
                "sizes; the factory is called with n_features and n_components."
            )


def _check_float32(encoder, decoder, factory):
    """Refuse floating-point weights other than float32: the rows reach the networks as float32,
    and a model's state (pickle, skops, skvae.save) holds float32 weights and optimizer moments.
    Buffers keep their dtype, but for bfloat16, which no saved array can hold."""
    for role, module in (("encoder", encoder), ("decoder", decoder)):
        tensors = [(name, tensor, "weights") for name, tensor in module.named_parameters()]
        tensors += [(name, tensor, "buffer") for name, tensor in module.named_buffers()]
        for name, tensor, kind in tensors:
            if (tensor.dtype == torch.bfloat16) or (
                kind == "weights" and tensor.is_floating_point() and tensor.dtype != torch.float32
            ):
                dtype = str(tensor.dtype).removeprefix("torch.")
                raise ValueError(
                    f"The {role} of network={_name(factory)} holds {dtype} {kind} ({name!r}); skvae trains "
                    "and saves float32 networks. Build the layers with dtype=torch.float32."
                )


def _call(module, role, inputs, factory):
    try:
        return module(inputs)
    except Exception as exc:  # the user's code: any error, reported with what it was given
        raise ValueError(
            f"The {role} of network={_name(factory)} failed on a batch of shape {tuple(inputs.shape)}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def _is_rows(value, width):
    # float32, as the rows reach the networks: float64 outputs would meet float32 ones later.
    return (
        isinstance(value, torch.Tensor) and value.dtype == torch.float32 and tuple(value.shape) == (2, width)
    )


def _describe(value):
    if isinstance(value, torch.Tensor):
        return f"a {str(value.dtype).removeprefix('torch.')} tensor of shape {tuple(value.shape)}"
    if isinstance(value, tuple):
        return f"a tuple of {len(value)} ({', '.join(_describe(item) for item in value)})"
    return f"a {type(value).__name__}"


def _name(factory):
    return getattr(factory, "__qualname__", repr(factory))


# -- naming a factory, and finding it again -------------------------------------


def dotted_path(factory):
    """``module.qualname`` of a module-level function or class; a ValueError if it cannot be imported back."""
    module, qualname = getattr(factory, "__module__", None), getattr(factory, "__qualname__", None)
    if not module or not qualname or "<" in qualname:
        raise ValueError(
            f"Cannot save network={factory!r}: a saved model names its network by an importable path, so "
            "the network must be a function or class defined at module level (not a lambda, a nested "
            "function or an instance)."
        )
    path = f"{module}.{qualname}"
    if module == "__main__" or _import(path) is not factory:
        raise ValueError(
            f"Cannot save network={path}: it cannot be imported back by that name. Define it in a module "
            "that loading can import (not in __main__ or a notebook)."
        )
    return path


def check_trusted(trusted):
    """A TypeError unless ``trusted`` is None or a list of dotted paths (a string would match
    every path it contains)."""
    if trusted is None:
        return
    if not isinstance(trusted, (list, tuple, set, frozenset)):
        raise TypeError(
            f"trusted must be None or a list of dotted paths, e.g. ['mypackage.networks.make_conv']; "
            f"got {trusted!r}."
        )
    if not all(isinstance(path, str) for path in trusted):
        raise TypeError(f"trusted must hold dotted paths as strings; got {trusted!r}.")


def import_trusted(path, trusted, where):
    """The factory at ``path`` if the user trusts it; otherwise a ValueError that says how to."""
    if path not in (trusted or ()):
        raise ValueError(
            f"{where} holds a user network, {path}; loading it imports and runs that code. If you trust it, "
            f"load with trusted=[{path!r}]."
        )
    factory = _import(path)
    if factory is None or not callable(factory):
        raise ValueError(f"{where} names the network {path}, which cannot be imported here.")
    return factory


def _import(path):
    """The object at dotted ``path`` (the longest importable module prefix, then attributes), or None."""
    parts = path.split(".")
    for split in range(len(parts) - 1, 0, -1):
        module = ".".join(parts[:split])
        try:
            obj = importlib.import_module(module)
        except ImportError as exc:
            # This prefix is no module (nor a package of one): try a shorter one. A module that is
            # there but fails to import (a dependency of it missing) says why.
            missing = getattr(exc, "name", None)
            if isinstance(exc, ModuleNotFoundError) and missing and f"{module}.".startswith(f"{missing}."):
                continue
            reason = f"{type(exc).__name__}: {exc}"
            raise ValueError(f"The network {path} cannot be imported here: {reason}") from exc
        for attribute in parts[split:]:
            obj = getattr(obj, attribute, None)
        return obj
    return None
