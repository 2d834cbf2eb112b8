"""Sphinx configuration of skvae's documentation: ``make docs`` builds it.

numpydoc renders the docstrings, sphinx-gallery runs ``examples/plot_*.py``
and the pydata theme lays the pages out, as across the scikit-learn
ecosystem. No extension fetches anything over the network while building.
"""

import os
import sys
from pathlib import Path

import torch

# The examples train networks: one thread each, as on a shared two-core
# machine (the Makefile also sets OMP_NUM_THREADS=1).
torch.set_num_threads(1)
# rich (scikit-learn's ProgressBar) sizes its bars from COLUMNS when it does
# not draw to a terminal, and the gallery captures its output: give the
# nested bars the width of a terminal window.
os.environ.setdefault("COLUMNS", "150")

import skvae  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent / "sphinxext"))

project = "skvae"
author = "the skvae developers"
copyright = "the skvae developers"
release = version = skvae.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sklearn_docstrings",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "sg_execution_times.rst"]
default_role = "literal"

# -- API reference ----------------------------------------------------------
# api.rst lists every name of skvae.__all__, and autosummary writes one page
# per name from the templates in _templates/autosummary (class.rst lists
# the methods, inherited ones included; function.rst is for functions).
autosummary_generate = True
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# Docstring checks that fail the build (with -W): every parameter documented,
# sections in order, a summary line ending with a period.
numpydoc_validation_checks = {"GL06", "GL07", "PR01", "PR02", "PR03", "PR06", "RT03", "SS03"}
# scikit-learn's inherited methods follow its own conventions.
numpydoc_validation_exclude = {r"\.get_params$", r"\.set_params$", r"\.set_output$", r"\.fit_transform$"}


def _check_api_reference():
    """Fail the build when a public name is missing from api.rst."""
    listed = {line.strip() for line in (Path(__file__).parent / "api.rst").read_text().splitlines()}
    missing = sorted(set(skvae.__all__) - listed)
    if missing:
        raise RuntimeError(
            f"docs/api.rst does not list {missing} of skvae.__all__: add each name to an "
            "autosummary block there."
        )


_check_api_reference()


# -- The gallery ------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # Only plot_*.py files run; demo.py is the `make demo` script.
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"(__init__|demo)\.py",
    "within_subsection_order": "gallery_order.ExampleOrder",
    "doc_module": ("skvae",),
    "backreferences_dir": "generated/backreferences",
    "remove_config_comments": True,
    "min_reported_time": 1,
    # SKVAE_DOCS_PLOT=0 builds the pages without running the examples.
    "plot_gallery": os.environ.get("SKVAE_DOCS_PLOT", "1") != "0",
}

# -- HTML -------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skvae {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
}
html_sidebars = {"index": [], "api": []}
