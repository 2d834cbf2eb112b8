"""Warnings that point at the user's line.

A warning raised deep in skvae -- under ``fit``, scikit-learn's ``_fit_context``,
``set_output``'s wrapper or a Pipeline -- names the first line outside skvae and
scikit-learn, as pandas' warnings do: a fixed ``stacklevel`` is right for one
path through the code only.
"""

import os
import sys
import warnings

import sklearn

_LIBRARY_DIRS = (os.path.dirname(__file__) + os.sep, os.path.dirname(sklearn.__file__) + os.sep)


def warn(message, category=UserWarning):
    """``warnings.warn`` at the first frame outside skvae and scikit-learn."""
    warnings.warn(message, category, stacklevel=_user_stacklevel())


def _user_stacklevel():
    # Level 1 is warn's own frame, in skvae.
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_LIBRARY_DIRS):
        frame, level = frame.f_back, level + 1
    return level
