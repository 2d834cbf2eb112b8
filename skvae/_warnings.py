"""Warnings that point at the user's line.

A warning raised deep in skvae -- under ``fit``, scikit-learn's ``_fit_context``,
``set_output``'s wrapper, a Pipeline or a ``GridSearchCV`` run by joblib -- names
the first line outside those packages, as pandas' warnings do: a fixed
``stacklevel`` is right for one path through the code only.
"""

import sys
import warnings

# Packages whose frames a warning passes over, by module name (a file path fails for
# packages imported from zip files or compiled-only installs).
_LIBRARIES = ("skvae", "sklearn", "joblib")


def warn(message, category=UserWarning):
    """``warnings.warn`` at the first frame outside skvae, scikit-learn and joblib."""
    warnings.warn(message, category, stacklevel=_user_stacklevel())


def _user_stacklevel():
    # Level 1 is warn's own frame, in skvae.
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get("__name__", "").partition(".")[0] in _LIBRARIES:
        frame, level = frame.f_back, level + 1
    return level
