"""One call of fit or partial_fit: from the coded training rows to trained, calibrated networks.

``_training.train`` owns the loop over epochs and batches. Around it, a call
decides the batch size and the optimizer, sets validation rows aside, keeps
partial_fit's sample of the rows streamed so far (``_stream_sample``), runs
the callbacks, records the history, calibrates what is computed from the
training rows after training (``_after_fit``) and, when training fails,
leaves no broken model behind.
"""

import math
from contextlib import nullcontext

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

from ._architectures import BUILT_IN
from ._callbacks import fit_callbacks, fitted_attributes
from ._stream_sample import merge_chunk, recalibrates
from ._tensors import FloatOverflow, as_rows, mean_over_rows, resolve_device
from ._training import TrainingDiverged, batches_per_epoch, make_optimizer, train
from ._user_networks import seeded_global_rng
from ._warnings import warn

# The batch size of batch_size="auto", as in MLPRegressor (at most the number of rows).
_AUTO_BATCH_SIZE = 200


class FittingMixin:
    """What fit and partial_fit of :class:`~skvae._base.BaseAutoencoder` run: validate X, train, calibrate."""

    def _warm_starts(self):
        """Whether fit goes on from the fitted networks."""
        return self.warm_start and hasattr(self, "encoder_")

    def _validate_and_fit(self, X, y, *, incremental, keep_weights):
        # Autograd on, whatever the caller's mode: a fit inside torch.no_grad() still trains.
        with torch.inference_mode(False), torch.enable_grad():
            # A fit that fails, diverges, or is interrupted after training (while calibrating)
            # leaves the model as it was: the one fitted before, if any (as PCA keeps its own when
            # refitting refuses X), rather than new columns beside the old networks or networks
            # uncalibrated; a continued fit the model it went on from, rather than new weights
            # beside the old threshold and variances.
            # (A continued fit always has a fitted model: see fit and partial_fit.)
            before = self._fitted_state(in_place=keep_weights) if hasattr(self, "encoder_") else None
            try:
                coded = self._validate_X(X, reset=not keep_weights, training=True)
                self._fit(coded, X, y, incremental=incremental, keep_weights=keep_weights)
            except BaseException:
                if before is not None:
                    self._restore_fitted_state(before)
                else:
                    self._forget_fit()
                raise
        return self

    def _fit(self, X, X_user, y, *, incremental, keep_weights):
        """Train on the coded rows X; callbacks see X as the user gave it (``X_user``)."""
        if keep_weights:  # first: a changed parameter explains what the checks below would refuse
            self._check_same_networks()
        self._check_input_range(X, training=True)
        self._check_training_rows(X)
        device = resolve_device(self.device)
        if not keep_weights:
            self._initialize(X.shape[1], device)
        self._note_training_size(X.shape[0], incremental)
        networks = self._networks()

        X_all, X_val = X, None
        # A warm-started fit with early stopping after one that had it too.
        continued = keep_weights and not incremental and hasattr(self, "best_validation_score_")
        if self.early_stopping and not incremental:
            X, X_val = self._split_validation(X)
        # The batches are of the rows trained on, as MLPRegressor's (after its validation split).
        batch_size = self._batch_size(X.shape[0])
        self._ready_optimizer(networks, device, batch_size, incremental)
        # Tensors, or for sparse X row sources whose batches are densified as
        # the training loop takes them.
        X_train = as_rows(X, device)
        X_val = None if X_val is None else as_rows(X_val, device)
        # Checked once here rather than per batch: complete data never pay for
        # masks. A sum is NaN exactly when a value is (inf is refused), and
        # needs no mask as large as the data.
        has_missing = bool(torch.isnan(X_train.sum()))
        # An encoder that has seen missing cells at the training mean reads them so; one that never
        # saw a missing cell reads them refilled from its own reconstruction (refill_missing).
        trained_complete = getattr(self, "_refills_missing", False) if keep_weights else True
        refills_missing = trained_complete and not has_missing

        def note_trained(model):
            """What a model trained on this call's rows knows before calibration: the fit's
            own, or a copy that callbacks get after an epoch (fitted_attributes)."""
            model._refills_missing = refills_missing
            model._note_training_rows(X_all, X_user, incremental)

        # A fresh stream for each call, derived from the seed and the epochs
        # already run, so that refits and continued fits are reproducible.
        generator = torch.Generator(device).manual_seed(self._seed + 7919 * self.n_iter_)
        steps_per_epoch = batches_per_epoch(X_train.shape[0], batch_size)
        warmup_epochs = -(-max(self._warmup_steps() - self._n_steps, 0) // steps_per_epoch)

        # What fit computes after training needs the training rows: partial_fit's chunk (maybe
        # one row) stands for them through an even sample of all the chunks so far.
        calibration_rows, stream = X_all, None
        if incremental:
            stream = merge_chunk(
                getattr(self, "_stream_sample", None),
                getattr(self, "_stream_keys", None),
                X_all,
                random_state=[self._seed, self.n_iter_],
            )
            calibration_rows = stream[0]

        max_epochs = 1 if incremental else self._max_epochs(X_train.shape[0], X_train.shape[1], batch_size)
        callbacks = fit_callbacks(
            self,
            task_name="partial_fit" if incremental else "fit",
            max_epochs=max_epochs,
            X=X_user,
            y=y,
            fitted_attributes=lambda history: fitted_attributes(
                self, calibration_rows, history, note_trained, continued
            ),
        )
        # A user network may draw from torch's global RNG while training (dropout).
        rng = (
            nullcontext() if self.network in BUILT_IN else seeded_global_rng(generator.initial_seed(), device)
        )
        try:
            with rng:
                history = train(
                    networks,
                    lambda batch: self._step_loss(batch, generator, has_missing),
                    self._optimizer,
                    X_train,
                    max_epochs=max_epochs,
                    batch_size=batch_size,
                    shuffle=self.shuffle,
                    generator=generator,
                    X_val=X_val,
                    # Sparse validation rows are scored a dense chunk at a time.
                    validation_score=lambda rows: mean_over_rows(self._validation_score, rows),
                    stopping=None if incremental else (self.tol, self._patience(steps_per_epoch)),
                    warmup_epochs=warmup_epochs,
                    verbose=self.verbose,
                    first_epoch=self.n_iter_ + 1,
                    callbacks=callbacks,
                    best_validation_score=self.best_validation_score_ if continued else -math.inf,
                    average_decay=None if incremental else self._weight_average_decay(),
                )
        except TrainingDiverged as exc:
            raise self._diverged(exc) from None

        networks.eval()
        if incremental:
            self._stream_sample, self._stream_keys = stream
        else:
            self._forget_stream_sample()
        self._record_history(
            history, validated=X_val is not None, continued=continued, incremental=incremental
        )
        note_trained(self)
        # A fit's calibration stays until partial_fit's sample can stand for as many rows.
        if not incremental or recalibrates(
            calibration_rows.shape[0], getattr(self, "_n_calibration_rows", 0)
        ):
            self._calibrate(calibration_rows)
        if callbacks is not None:
            callbacks.on_fit_end()
        self._warn_outcome(history, max_epochs, incremental)

    def _step_loss(self, batch, generator, has_missing):
        """The loss of one optimizer step, counted: the VAE's KL warm-up reads the count."""
        self._n_steps += 1
        return self._loss(batch, generator, has_missing)

    def _batch_size(self, n_samples):
        """The batch size of a fit on ``n_samples`` rows: batch_size, at most n_samples."""
        if self.batch_size != "auto" and self.batch_size > n_samples:
            warn(
                f"Got batch_size={self.batch_size}, larger than the {n_samples} training rows: it is clipped "
                f"to {n_samples}.",
            )
        return min(_AUTO_BATCH_SIZE if self.batch_size == "auto" else self.batch_size, n_samples)

    def _ready_optimizer(self, networks, device, batch_size, incremental):
        """Networks on ``device`` and an optimizer for them: partial_fit keeps its state."""
        # A loaded or unpickled model sits on the CPU (see __getstate__ and
        # skvae.load): continuing to fit it moves it to ``device``, and a
        # partial_fit call moves Adam's state along.
        moved = None
        if any(parameter.device != device for parameter in networks.parameters()):
            networks.to(device)
            moved, self._optimizer = self._optimizer, None
        if self._optimizer is None or not incremental:
            self._optimizer = make_optimizer(
                list(networks.parameters()), self.learning_rate_init, self.alpha / batch_size
            )
            if incremental and moved is not None:
                # partial_fit goes on with Adam's moments, which load_state_dict moves along.
                self._optimizer.load_state_dict(moved.state_dict())
        # A kept or moved optimizer goes on with Adam's moments, at this call's step size and decay.
        # MLP adds alpha/2 ||W||^2 / batch_size to the loss: the same as weight decay
        # alpha / batch_size on weights (not biases), of this call's batches.
        for group in self._optimizer.param_groups:
            group["lr"] = self.learning_rate_init
        self._optimizer.param_groups[0]["weight_decay"] = self.alpha / batch_size

    def _split_validation(self, X):
        # Rounded up, as MLPRegressor's split (train_test_split's test_size) is.
        n_val = math.ceil(self.validation_fraction * X.shape[0])
        if n_val >= X.shape[0]:
            raise ValueError(
                f"early_stopping=True cannot hold out validation_fraction={self.validation_fraction} "
                f"of {X.shape[0]} samples: both the training and the validation set need at least one sample."
            )
        order = np.random.RandomState(self._seed).permutation(X.shape[0])
        return X[np.sort(order[n_val:])], X[np.sort(order[:n_val])]

    def _record_history(self, history, *, validated, continued, incremental):
        """The epochs run, their losses and (with early stopping) their validation scores."""
        # New lists, not extended in place: a fit that fails later restores the ones before it.
        self.n_iter_ += len(history.losses)
        self.loss_curve_ = self.loss_curve_ + history.losses
        if incremental:
            # partial_fit trains without held-out rows (as MLP's cannot): the weights have moved
            # past the scores an earlier fit validated, which a warm-started fit would keep.
            for name in ("validation_scores_", "best_validation_score_"):
                vars(self).pop(name, None)
        if validated:
            # A warm-started fit goes on with the scores so far, as scikit-learn's MLP does.
            self.validation_scores_ = (
                self.validation_scores_ if continued else []
            ) + history.validation_scores
            self.best_validation_score_ = history.best_validation_score

    def _calibrate(self, calibration_rows):
        """Run ``_after_fit`` on the rows that stand for the training rows."""
        try:
            self._after_fit(calibration_rows)
        except FloatOverflow:
            # The training rows trained with finite losses: the last steps broke the networks.
            raise self._diverged("its networks overflow float32 on the training rows") from None
        self._n_calibration_rows = calibration_rows.shape[0]

    def _warn_outcome(self, history, max_epochs, incremental):
        """Warn, as MLPRegressor does, when training was interrupted or did not converge."""
        if history.interrupted:
            if history.validation_scores:
                kept = "the weights trained so far (the best on the validation set)."
            elif math.isfinite(history.best_validation_score):  # a warm start's, restored by train
                kept = "the weights it began with: no epoch ended to compare with them."
            else:
                kept = "the weights trained so far."
            warn(
                f"Training was interrupted (KeyboardInterrupt) after {len(history.losses)} complete "
                f"epochs; {type(self).__name__} keeps {kept}",
            )
        elif self._warns_unconverged and not incremental and not history.converged and not history.stopped:
            # With "auto" the epochs come from a budget of optimizer steps: say so, or the number puzzles.
            budget = " epochs, the step budget of max_iter='auto'" if self.max_iter == "auto" else ""
            warn(
                f"Maximum iterations ({max_epochs}{budget}) reached and the optimization hasn't "
                "converged yet.",
                ConvergenceWarning,
            )

    def _diverged(self, reason):
        return ValueError(
            f"Training of {type(self).__name__} diverged: {reason}. "
            "Scale the inputs (e.g. StandardScaler) or lower learning_rate_init."
        )
