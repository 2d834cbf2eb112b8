"""Render scikit-learn's own cross-references in inherited docstrings as text.

The API pages show the methods the estimators inherit from scikit-learn
(``set_output``, ``get_metadata_routing``, ...). Their docstrings refer to
labels and glossary terms of scikit-learn's documentation, which this build
does not have (it fetches no inventory over the network). Such references,
and only those coming from scikit-learn's source files, become plain text;
any other broken reference still fails the build.
"""

from pathlib import Path

import sklearn

SKLEARN_DIR = str(Path(sklearn.__file__).parent)


def _from_sklearn(node):
    source = node.source or ""
    return source.startswith(SKLEARN_DIR) or ":docstring of sklearn." in source


def resolve_as_text(app, env, node, contnode):
    if node.get("refdomain") == "std" and node.get("reftype") in {"ref", "term"} and _from_sklearn(node):
        return contnode
    return None


def setup(app):
    app.connect("missing-reference", resolve_as_text)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
