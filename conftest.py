"""Doctests of a module whose optional extra is not installed are not collected; its tests skip."""

import importlib.util

_ONNX_EXTRA = ("onnx", "skl2onnx", "onnxruntime")
collect_ignore = [] if all(importlib.util.find_spec(name) for name in _ONNX_EXTRA) else ["skvae/onnx.py"]
