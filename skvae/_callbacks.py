"""scikit-learn's callbacks (``sklearn.callback``, scikit-learn >= 1.9): a fit's epochs as its sub-tasks.

A fit is one task whose sub-tasks are its epochs (a ``partial_fit`` call: one
epoch), so that ``ProgressBar`` shows a bar per fit, nested under the bars of
a Pipeline or a GridSearchCV, and ``ScoringMonitor`` logs a score per epoch.
A callback's ``on_fit_task_end`` returning True ends training after that
epoch. With no callback set nothing here runs, and on a scikit-learn without
``sklearn.callback`` the estimators simply have no ``set_callbacks``.
"""

import copy

try:
    from sklearn.callback import CallbackSupportMixin
except ImportError:  # scikit-learn < 1.9

    class CallbackSupportMixin:
        """scikit-learn before 1.9 has no callbacks: no set_callbacks, nothing to call."""


def fit_callbacks(estimator, *, task_name, max_epochs, X, y, fitted_attributes):
    """The hooks ``train`` calls around each epoch, or None when no callback is set.

    ``fitted_attributes(history)`` returns the fitted attributes of a model
    that stopped after the epochs of ``history`` (``_training.TrainingHistory``); it is called only when a
    callback asks for a ``fitted_estimator``.
    """
    if not getattr(estimator, "_skl_callbacks", None):
        return None
    context = estimator._init_callback_context(task_name=task_name, max_subtasks=max_epochs)
    context.call_on_fit_task_begin(estimator=estimator, X=X, y=y)
    return EpochCallbacks(estimator, context, X, y, fitted_attributes)


class EpochCallbacks:
    """One callback sub-task per epoch of one fit."""

    def __init__(self, estimator, context, X, y, fitted_attributes):
        self._estimator = estimator
        self._context = context
        self._X = X
        self._y = y
        self._fitted_attributes = fitted_attributes
        self._epoch = None

    def on_epoch_begin(self):
        self._epoch = self._context.subcontext(task_name="epoch")
        self._epoch.call_on_fit_task_begin(estimator=self._estimator, X=self._X, y=self._y)

    def on_epoch_end(self, history):
        """Whether a callback asks to stop after this epoch."""
        return self._epoch.call_on_fit_task_end(
            estimator=self._estimator,
            X=self._X,
            y=self._y,
            # Evaluated by scikit-learn only for a callback that takes fitted_estimator.
            reconstruction_attributes=lambda: self._fitted_attributes(history),
        )

    def on_fit_end(self):
        # The estimator itself is fitted now: nothing to add to a copy of it.
        self._context.call_on_fit_task_end(
            estimator=self._estimator, X=self._X, y=self._y, reconstruction_attributes={}
        )


_ABSENT = object()


def fitted_attributes(estimator, X, history, note_trained, continued=False):
    """The fitted state of a model whose fit stopped now, after the epochs of ``history``.

    Its validation curve (with early stopping) goes on from the estimator's when the
    fit is ``continued`` (a warm start), as fit's own does.

    Built on copies of the networks, which training goes on updating (their
    moving average, where the fit ends with one). What the fit learns of its
    training rows once trained is set by ``note_trained(model)``, as at the
    fit's end (the imputer's indicator, whether missing cells are refilled);
    what fit computes after training (the VAE's variances, the detectors'
    thresholds and the robust explanations' anchors and correction) is
    computed on X for them.
    """
    fitted = copy.copy(estimator)
    networks = copy.deepcopy(estimator._networks()).eval()  # as one: weights they share stay shared
    if history.weight_average is not None:
        # A fit stopped now would end with the average of the weights so far.
        history.weight_average.load(networks)
    for name, module in networks.items():
        setattr(fitted, f"{name}_", module)
    fitted._optimizer = None
    fitted.n_iter_ = estimator.n_iter_ + len(history.losses)
    fitted.loss_curve_ = estimator.loss_curve_ + list(history.losses)
    if history.validation_scores:
        earlier = estimator.validation_scores_ if continued else []
        fitted.validation_scores_ = earlier + list(history.validation_scores)
        fitted.best_validation_score_ = history.best_validation_score
    note_trained(fitted)
    fitted._after_fit(X)
    # Everything that differs from the estimator, private state included:
    # scikit-learn sets these on a copy of it to make the fitted_estimator.
    current = vars(estimator)
    return {name: value for name, value in vars(fitted).items() if current.get(name, _ABSENT) is not value}
