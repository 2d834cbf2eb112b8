"""Adam's state in a skvae file (format version 2): its settings as JSON, its moments as arrays.

``_persistence`` owns the file; this module says what the optimizer's JSON
entry holds and under which members its moments are written and read back. A
check that fails raises a ValueError saying why, which ``load`` reports as an
invalid file.
"""

import math

import numpy as np

MOMENT_MEMBERS = "optimizer/"
# What Adam keeps per parameter (without amsgrad), as arrays.
_ADAM_MOMENTS = {"step", "exp_avg", "exp_avg_sq"}


def _member(index, name):
    return f"{MOMENT_MEMBERS}{index}/{name}.npy"


def optimizer_to_json(optimizer):
    """The JSON entry of ``_state``'s optimizer state: the settings, and which moments each parameter has."""
    return {
        "learning_rate": optimizer["learning_rate"],
        "weight_decay": optimizer["weight_decay"],
        "moments": {index: sorted(moments) for index, moments in optimizer["moments"].items()},
    }


def optimizer_arrays(optimizer):
    """``{member: array}`` of the moments of ``_state``'s optimizer state."""
    return {
        _member(index, name): array
        for index, moments in optimizer["moments"].items()
        for name, array in moments.items()
    }


def optimizer_from_json(saved, shapes):
    """The optimizer state ``saved`` describes, its moments empty, and the members to read them
    from, ``{member: (index, name, shape, dtype)}``, for parameters of ``shapes`` (``{index: shape}``)."""
    if not isinstance(saved, dict) or set(saved) != {"learning_rate", "weight_decay", "moments"}:
        raise ValueError("'optimizer' is not Adam's learning_rate, weight_decay and moments")
    for key in ("learning_rate", "weight_decay"):
        value = saved[key]
        if type(value) not in (int, float) or not math.isfinite(value) or value < 0:
            raise ValueError(f"the optimizer's {key} is {value!r}")
    if not isinstance(saved["moments"], dict):
        raise ValueError("the optimizer's moments are not a dict")
    members = {}
    for index, names in saved["moments"].items():
        if index not in shapes or not isinstance(names, list) or set(names) != _ADAM_MOMENTS:
            raise ValueError(f"invalid optimizer moments for parameter {index!r}")
        for name in names:
            shape = () if name == "step" else shapes[index]
            members[_member(index, name)] = (index, name, shape, np.dtype(np.float32))
    state = {
        "learning_rate": saved["learning_rate"],
        "weight_decay": saved["weight_decay"],
        "moments": {index: {} for index in saved["moments"]},
    }
    return state, members
