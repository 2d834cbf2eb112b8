"""The training loop on its own: stopping rules, best weights, divergence."""

import math

import numpy as np
import pytest
import torch

from skvae._training import (
    TrainingDiverged,
    batches_per_epoch,
    epochs_for_steps,
    make_optimizer,
    train,
    train_epoch,
)


def setup(seed=0, n=64):
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 3, generator=generator)
    module = torch.nn.Linear(3, 3)
    return module, X, generator


def mse(module):
    return lambda batch: (module(batch) - batch).square().mean()


def test_loss_goes_down_and_one_loss_is_recorded_per_epoch():
    module, X, generator = setup()
    optimizer = make_optimizer(list(module.parameters()), 1e-2, 0.0)
    history = train(
        module, mse(module), optimizer, X, max_epochs=20, batch_size=16, shuffle=True, generator=generator
    )
    assert len(history.losses) == 20 and history.losses[-1] < history.losses[0]
    assert not history.converged


def test_stopping_rule_counts_epochs_without_improvement():
    module, X, generator = setup()
    optimizer = make_optimizer(list(module.parameters()), 1e-2, 0.0)
    history = train(
        module,
        mse(module),
        optimizer,
        X,
        max_epochs=100,
        batch_size=16,
        shuffle=False,
        generator=generator,
        stopping=(1e9, 4),
    )
    assert history.converged and len(history.losses) == 6


def test_with_validation_rows_a_rise_smaller_than_tol_is_no_improvement():
    module, X, generator = setup()
    optimizer = make_optimizer(list(module.parameters()), 1e-2, 0.0)
    scores = iter(range(100))  # one better each epoch

    def kept(tol):
        return train(
            module,
            mse(module),
            optimizer,
            X,
            max_epochs=30,
            batch_size=16,
            shuffle=False,
            generator=generator,
            X_val=X[:8],
            validation_score=lambda X_val: torch.tensor(float(next(scores))),
            stopping=(tol, 4),
        )

    assert not kept(0.5).converged
    history = kept(2.0)
    assert history.converged and len(history.losses) == 6


def test_a_loss_equal_to_the_best_so_far_is_an_improvement_as_in_mlp():
    module, X, generator = setup()
    optimizer = make_optimizer(list(module.parameters()), 1e-2, 0.0)
    history = train(
        module,
        lambda batch: (module(batch) * 0.0).sum() + 1.0,  # the same loss every epoch
        optimizer,
        X,
        max_epochs=10,
        batch_size=16,
        shuffle=False,
        generator=generator,
        stopping=(0.0, 2),
    )
    assert not history.converged and len(history.losses) == 10


def test_an_epoch_that_only_ties_the_best_validation_score_keeps_the_earlier_weights():
    module, X, generator = setup()
    optimizer = torch.optim.SGD(module.parameters(), lr=0.1)
    weights = []

    def validation_score(X_val):
        weights.append({k: v.clone() for k, v in module.state_dict().items()})
        return torch.tensor(1.0)  # every epoch ties the first

    train(
        module,
        mse(module),
        optimizer,
        X,
        max_epochs=5,
        batch_size=16,
        shuffle=False,
        generator=generator,
        X_val=X[:8],
        validation_score=validation_score,
        stopping=(0.0, 100),
    )
    for name, tensor in module.state_dict().items():
        torch.testing.assert_close(tensor, weights[0][name])
    assert not torch.equal(weights[-1]["weight"], weights[0]["weight"])


def test_weight_decay_falls_on_the_weights_not_the_biases():
    module = torch.nn.Linear(3, 3)
    optimizer = make_optimizer(list(module.parameters()), 1e-2, 0.5)
    weights, biases = optimizer.param_groups
    assert weights["weight_decay"] == 0.5 and [p.ndim for p in weights["params"]] == [2]
    assert biases["weight_decay"] == 0.0 and [p.ndim for p in biases["params"]] == [1]


def test_validation_keeps_the_best_weights():
    module, X, generator = setup()
    optimizer = torch.optim.SGD(module.parameters(), lr=0.5)  # large enough to get worse
    seen = []

    def validation_score(X_val):
        score = -mse(module)(X_val)
        seen.append((score.item(), {k: v.clone() for k, v in module.state_dict().items()}))
        return score

    history = train(
        module,
        mse(module),
        optimizer,
        X,
        max_epochs=8,
        batch_size=8,
        shuffle=True,
        generator=generator,
        X_val=X[:16],
        validation_score=validation_score,
        stopping=(0.0, 100),
    )
    best_score, best_state = max(seen, key=lambda item: item[0])
    assert history.best_validation_score == pytest.approx(best_score)
    for name, value in module.state_dict().items():
        assert torch.equal(value, best_state[name])


def test_non_finite_loss_raises_training_diverged():
    module, X, generator = setup()
    optimizer = torch.optim.SGD(module.parameters(), lr=1e6)
    with pytest.raises(TrainingDiverged, match="epoch"):
        train(
            module,
            mse(module),
            optimizer,
            X * 1e6,
            max_epochs=50,
            batch_size=8,
            shuffle=True,
            generator=generator,
        )


def test_weights_made_infinite_by_the_last_step_raise_training_diverged():
    # The loss of a batch is taken before its step: only the weights show what the last step did.
    module, X, generator = setup()
    optimizer = torch.optim.SGD(module.parameters(), lr=1e38)
    with pytest.raises(TrainingDiverged, match="last optimizer step"):
        train(
            module,
            mse(module),
            optimizer,
            X * 100,
            max_epochs=1,
            batch_size=64,
            shuffle=False,
            generator=generator,
        )


def test_steps_see_the_module_in_training_mode_and_the_validation_score_in_evaluation_mode():
    # Dropout and batch normalisation behave differently in the two modes.
    module, X, generator = setup()
    optimizer = make_optimizer(list(module.parameters()), 1e-2, 0.0)
    step_modes, score_modes = [], []

    def loss(batch):
        step_modes.append(module.training)
        return mse(module)(batch)

    def score(X_val):
        score_modes.append(module.training)
        return -mse(module)(X_val)

    train(
        module,
        loss,
        optimizer,
        X,
        max_epochs=3,
        batch_size=16,
        shuffle=False,
        generator=generator,
        X_val=X[:8],
        validation_score=score,
    )
    assert step_modes == [True] * 12 and score_modes == [False] * 3


def test_verbose_prints_one_line_per_epoch(capsys):
    module, X, generator = setup()
    optimizer = make_optimizer(list(module.parameters()), 1e-2, 0.0)
    train(
        module,
        mse(module),
        optimizer,
        X,
        max_epochs=3,
        batch_size=16,
        shuffle=True,
        generator=generator,
        verbose=1,
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith("Epoch    1 | loss")
    assert math.isfinite(float(lines[-1].split("|")[1].split()[1]))


def test_training_that_ends_within_the_warm_up_reports_the_score_of_the_weights_it_keeps():
    module, X, generator = setup()
    optimizer = make_optimizer(list(module.parameters()), 1e-2, 0.0)
    history = train(
        module,
        mse(module),
        optimizer,
        X,
        max_epochs=3,
        batch_size=16,
        shuffle=False,
        generator=generator,
        X_val=X[:8],
        validation_score=lambda rows: -mse(module)(rows),
        warmup_epochs=10,
    )
    assert history.best_validation_score == history.validation_scores[-1]
    assert history.best_validation_score == pytest.approx(-mse(module)(X[:8]).item())


def test_a_best_score_from_an_earlier_fit_keeps_its_weights_unless_an_epoch_beats_it():
    module, X, generator = setup()
    start = {name: value.clone() for name, value in module.state_dict().items()}
    optimizer = torch.optim.SGD(module.parameters(), lr=0.5)  # large enough to get worse
    history = train(
        module,
        mse(module),
        optimizer,
        X,
        max_epochs=3,
        batch_size=64,
        shuffle=False,
        generator=generator,
        X_val=X[:8],
        validation_score=lambda rows: -mse(module)(rows),
        best_validation_score=1e30,  # no epoch can beat it
    )
    assert history.best_validation_score == 1e30
    for name, value in module.state_dict().items():
        torch.testing.assert_close(value, start[name])


def test_an_interrupt_before_an_epoch_ends_keeps_the_weights_the_best_score_describes():
    module, X, generator = setup()
    start = {name: value.clone() for name, value in module.state_dict().items()}
    optimizer = torch.optim.SGD(module.parameters(), lr=0.1)
    steps = 0

    def interrupted_loss(batch):
        nonlocal steps
        steps += 1
        if steps == 3:  # the third step of the first epoch: two steps have moved the weights
            raise KeyboardInterrupt
        return mse(module)(batch)

    history = train(
        module,
        interrupted_loss,
        optimizer,
        X,
        max_epochs=3,
        batch_size=16,
        shuffle=False,
        generator=generator,
        X_val=X[:8],
        validation_score=lambda rows: -mse(module)(rows),
        best_validation_score=-1.0,  # a warm-started fit's, of the weights it began with
    )
    assert history.interrupted and history.best_validation_score == -1.0
    for name, value in module.state_dict().items():
        torch.testing.assert_close(value, start[name])


def test_a_warm_start_still_in_the_warm_up_keeps_its_last_weights():
    module, X, generator = setup()
    optimizer = make_optimizer(list(module.parameters()), 1e-2, 0.0)
    history = train(
        module,
        mse(module),
        optimizer,
        X,
        max_epochs=3,
        batch_size=16,
        shuffle=False,
        generator=generator,
        X_val=X[:8],
        validation_score=lambda rows: -mse(module)(rows),
        warmup_epochs=10,
        best_validation_score=1e30,  # an earlier fit's, which the warm-up cannot be compared with
    )
    assert history.best_validation_score == history.validation_scores[-1]
    assert history.best_validation_score == pytest.approx(-mse(module)(X[:8]).item())


def test_weight_averaging_ends_with_the_moving_average_of_the_steps_weights():
    module, X, generator = setup()
    torch.manual_seed(0)
    optimizer = make_optimizer(list(module.parameters()), 1e-2, 0.0)
    # The same steps by hand: the weights after each one, averaged as WeightAverage does.
    twin = torch.nn.Linear(3, 3)
    twin.load_state_dict(module.state_dict())
    twin_optimizer = make_optimizer(list(twin.parameters()), 1e-2, 0.0)
    average, decay, twin_losses = None, 0.97, []
    for step in range(1, 5 * 4 + 1):  # 5 epochs of 4 batches, in order
        batch = X[(step - 1) % 4 * 16 : (step - 1) % 4 * 16 + 16]
        loss = mse(twin)(batch)
        twin_losses.append(loss.item())
        twin_optimizer.zero_grad()
        loss.backward()
        twin_optimizer.step()
        weights = [p.detach().clone() for p in twin.parameters()]
        weight = max(1 - decay, 30 / (step + 29))
        average = (
            weights
            if average is None
            else [a + weight * (w - a) for a, w in zip(average, weights, strict=True)]
        )
    history = train(
        module,
        mse(module),
        optimizer,
        X,
        max_epochs=5,
        batch_size=16,
        shuffle=False,
        generator=generator,
        average_decay=decay,
    )
    for kept, expected, last in zip(module.parameters(), average, twin.parameters(), strict=True):
        torch.testing.assert_close(kept.detach(), expected)
        assert not torch.allclose(kept, last)  # not the last step's weights
    # The losses are those of the weights the steps trained: each epoch's mean over its batches.
    np.testing.assert_allclose(history.losses, np.mean(np.reshape(twin_losses, (5, 4)), axis=1), rtol=1e-6)


def test_an_epoch_steps_once_a_batch_a_last_row_alone_joining_the_batch_before():
    module, X, _ = setup(n=40)
    optimizer = make_optimizer(list(module.parameters()), 1e-3, 0.0)
    batch_rows = []

    def loss(batch):
        batch_rows.append(len(batch))
        return mse(module)(batch)

    for n_samples in (1, 15, 16, 17, 18, 33, 40):
        batch_rows.clear()
        train_epoch(module, loss, optimizer, X[:n_samples], 16)
        assert sum(batch_rows) == n_samples and min(batch_rows) > (n_samples > 1)
        assert len(batch_rows) == batches_per_epoch(n_samples, 16)
    # The step budgets count so: 1,000 steps over 201 rows in batches of 200 take 1,000 epochs.
    assert epochs_for_steps(1000, 201, 200) == 1000 and epochs_for_steps(1000, 202, 200) == 500
