"""The training loop: mini-batch optimisation over pre-made tensors.

One function, read top to bottom like a minimal PyTorch script. The
estimators own scikit-learn's plumbing; this module owns optimisation.
"""

import math
import time
from dataclasses import dataclass, field

import torch


class TrainingDiverged(ArithmeticError):
    """The training loss became NaN or infinite."""


@dataclass
class TrainingHistory:
    losses: list = field(default_factory=list)
    validation_scores: list = field(default_factory=list)
    best_validation_score: float = -math.inf
    converged: bool = False


def make_optimizer(parameters, learning_rate, weight_decay):
    """Adam, fused where this torch build supports it on the parameters' device."""
    groups = [
        {"params": [p for p in parameters if p.ndim > 1], "weight_decay": weight_decay},
        {"params": [p for p in parameters if p.ndim <= 1], "weight_decay": 0.0},
    ]
    try:
        return torch.optim.Adam(groups, lr=learning_rate, fused=True)
    except RuntimeError:
        return torch.optim.Adam(groups, lr=learning_rate)


def snapshot(module):
    return {name: value.detach().clone() for name, value in module.state_dict().items()}


def train(
    module,
    loss_fn,
    optimizer,
    X,
    *,
    max_epochs,
    batch_size,
    shuffle,
    generator,
    X_val=None,
    validation_score=None,
    stopping=None,
    verbose=False,
    first_epoch=1,
):
    """Minimise ``loss_fn(batch)`` over the rows of ``X`` for up to ``max_epochs``.

    ``stopping`` is ``None`` (run every epoch) or ``(tol, n_iter_no_change)``
    with scikit-learn's MLP rule: stop once the monitored value -- the
    validation score when ``X_val`` is given, else the training loss -- has
    not improved by ``tol`` for more than ``n_iter_no_change`` epochs. With a
    validation set the best weights are restored at the end.
    """
    history = TrainingHistory()
    n_samples = X.shape[0]
    best_loss, best_state, epochs_without_improvement = math.inf, None, 0

    for epoch in range(max_epochs):
        tic = time.perf_counter()
        module.train()
        order = torch.randperm(n_samples, generator=generator, device=X.device) if shuffle else None
        # Summed on the device: a host sync per batch would stall the loop.
        loss_sum = torch.zeros((), device=X.device)
        for start in range(0, n_samples, batch_size):
            batch = X[order[start : start + batch_size]] if shuffle else X[start : start + batch_size]
            loss = loss_fn(batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * batch.shape[0]
        epoch_loss = loss_sum.item() / n_samples
        if not math.isfinite(epoch_loss):
            raise TrainingDiverged(f"the training loss became {epoch_loss} at epoch {first_epoch + epoch}")
        history.losses.append(epoch_loss)

        if X_val is not None:
            module.eval()
            with torch.inference_mode():
                score = float(validation_score(X_val))
            history.validation_scores.append(score)
            improved = score >= history.best_validation_score + stopping[0]
            if score > history.best_validation_score:
                history.best_validation_score, best_state = score, snapshot(module)
        elif stopping is not None:
            improved = epoch_loss <= best_loss - stopping[0]
            best_loss = min(best_loss, epoch_loss)

        if verbose:
            line = f"Epoch {first_epoch + epoch:4d} | loss {epoch_loss:12.6g}"
            if X_val is not None:
                line += f" | validation score {score:12.6g}"
            print(f"{line} | {time.perf_counter() - tic:7.2f}s", flush=True)

        if stopping is not None:
            epochs_without_improvement = 0 if improved else epochs_without_improvement + 1
            if epochs_without_improvement > stopping[1]:
                history.converged = True
                break

    if best_state is not None:
        module.load_state_dict(best_state)
    return history
