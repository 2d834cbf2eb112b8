"""The ``network`` parameter: convolutional networks and the user's own encoder and decoder."""

import copy
import pickle
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from torch import nn

import skvae
import skvae._tensors
from skvae import (
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    VAEImputer,
    VAEOutlierDetector,
    VAETransformer,
)

ALL_ESTIMATORS = [AutoencoderTransformer, VAETransformer, AutoencoderOutlierDetector, VAEOutlierDetector]


@pytest.fixture(scope="module")
def digits():
    return (load_digits().data[:300] / 16).astype(np.float32)


# -- user networks, at module level so that they can be saved by their dotted path


def linear_pair(n_features, n_components, input_shape, width=8):
    encoder = nn.Sequential(nn.Linear(n_features, width), nn.ReLU(), nn.Linear(width, n_components))
    decoder = nn.Sequential(nn.Linear(n_components, width), nn.ReLU(), nn.Linear(width, n_features))
    return encoder, decoder


class Float64Output(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.linear = nn.Linear(n_in, n_out)

    def forward(self, x):
        return self.linear(x).double()


def float64_decoder(n_features, n_components, input_shape):
    return nn.Linear(n_features, n_components), Float64Output(n_components, n_features)


def float64_posterior(n_features, n_components, input_shape):
    return Float64Output(n_features, 2 * n_components), nn.Linear(n_components, n_features)


def pair_as_list(n_features, n_components, input_shape):
    return list(linear_pair(n_features, n_components, input_shape))


def batch_norm_pair(n_features, n_components, input_shape):
    def block(n_in, n_out):
        return nn.Sequential(nn.Linear(n_in, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, n_out))

    return block(n_features, n_components), block(n_components, n_features)


def widths_pair(n_features, n_components, input_shape, widths=(8,), act=nn.ReLU):
    return linear_pair(n_features, n_components, input_shape, width=widths[0])


class PosteriorEncoder(nn.Module):
    def __init__(self, n_features, n_components):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(n_features, 16), nn.BatchNorm1d(16), nn.ReLU())
        self.mean = nn.Linear(16, n_components)
        self.log_var = nn.Linear(16, n_components)

    def forward(self, x):
        hidden = self.trunk(x)
        return self.mean(hidden), self.log_var(hidden)


class VariationalNetwork(nn.Module):
    """A class as the factory: one module with encoder and decoder attributes."""

    def __init__(self, n_features, n_components, input_shape):
        super().__init__()
        self.encoder = PosteriorEncoder(n_features, n_components)
        self.decoder = nn.Sequential(nn.Linear(n_components, 16), nn.ReLU(), nn.Linear(16, n_features))


CALLS = []


def dropout_pair(n_features, n_components, input_shape):
    encoder = nn.Sequential(
        nn.Linear(n_features, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, n_components)
    )
    return encoder, nn.Linear(n_components, n_features)


class FixedProjection(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.register_buffer("weight", torch.linspace(-1, 1, n_in * n_out).reshape(n_in, n_out))

    def forward(self, x):
        return x @ self.weight


def fixed_decoder(n_features, n_components, input_shape):
    return nn.Linear(n_features, n_components), FixedProjection(n_components, n_features)


def fixed_pair(n_features, n_components, input_shape):
    return FixedProjection(n_features, n_components), FixedProjection(n_components, n_features)


def recording_pair(n_features, n_components, input_shape, width=8):
    CALLS.append({"n_features": n_features, "n_components": n_components, "input_shape": input_shape})
    return linear_pair(n_features, n_components, input_shape, width)


def wide_code(n_features, n_components, input_shape):
    return nn.Linear(n_features, n_components + 1), nn.Linear(n_components, n_features)


def wrong_decoder(n_features, n_components, input_shape):
    return nn.Linear(n_features, n_components), nn.Linear(n_components, n_features - 1)


def failing_encoder(n_features, n_components, input_shape):
    return nn.Linear(n_features + 5, n_components), nn.Linear(n_components, n_features)


def in_place_pair(n_features, n_components, input_shape):
    """Networks that write into their inputs, as a first ``nn.ReLU(inplace=True)`` does."""
    return (
        nn.Sequential(nn.ReLU(inplace=True), nn.Linear(n_features, n_components)),
        nn.Sequential(nn.ReLU(inplace=True), nn.Linear(n_components, n_features)),
    )


def not_modules(n_features, n_components, input_shape):
    return "encoder", "decoder"


def user_network(estimator_class):
    return VariationalNetwork if estimator_class._variational else linear_pair


# -- the convolutional family -----------------------------------------------------


@pytest.mark.parametrize("estimator_class", ALL_ESTIMATORS)
def test_conv_networks_read_rows_as_images(estimator_class, digits):
    model = estimator_class(
        network="conv",
        input_shape=(1, 8, 8),
        hidden_layer_sizes=(4, 8),
        n_components=3,
        max_iter=3,
        random_state=0,
    ).fit(digits)
    assert any(isinstance(layer, nn.Conv2d) for layer in model.encoder_.modules())
    assert any(isinstance(layer, nn.ConvTranspose2d) for layer in model.decoder_.modules())
    assert model.transform(digits).shape == (300, 3)
    assert np.isfinite(model.score_samples(digits)).all()
    assert np.asarray(model.inverse_transform(model.transform(digits[:5]))).shape == (5, 64)


def test_conv_inference_chunks_are_sized_by_the_activations_with_the_same_results(digits, monkeypatch):
    assert skvae._tensors.conv_chunk_rows(784, 128) == 512  # MNIST through 128 channels: 205 MB
    assert skvae._tensors.conv_chunk_rows(64, 8) == 8192
    model = VAEOutlierDetector(
        network="conv", input_shape=(1, 8, 8), hidden_layer_sizes=(4, 8), max_iter=2, random_state=0
    ).fit(digits)
    rows = np.vstack([digits] * 4)  # 1,200 rows
    outputs = [
        model.transform(rows),
        model.score_samples(rows),
        model.inverse_transform(model.transform(rows)),
    ]
    monkeypatch.setattr(skvae._tensors, "_CONV_CELLS", 64 * 64 * 8)  # chunks of 64 rows
    assert skvae._tensors.conv_chunk_rows(64, 8) == 64
    np.testing.assert_array_equal(model.transform(rows), outputs[0])
    np.testing.assert_array_equal(model.score_samples(rows), outputs[1])
    np.testing.assert_array_equal(model.inverse_transform(model.transform(rows)), outputs[2])


@pytest.mark.parametrize(
    "input_shape",
    [(2, 7, 5), (3, 11), (1, 1), (1, -1), (2, -1, 3)],
    ids=lambda shape: "x".join(map(str, shape)),
)
def test_conv_decoder_gives_back_rows_of_every_shape(input_shape):
    n_features = int(np.prod([size for size in input_shape if size != -1])) * (4 if -1 in input_shape else 1)
    X = np.random.RandomState(0).normal(size=(40, n_features))
    model = AutoencoderTransformer(
        network="conv", input_shape=input_shape, hidden_layer_sizes=(3, 5), max_iter=2, random_state=0
    )
    reconstruction = model.fit(X).inverse_transform(model.transform(X))
    assert reconstruction.shape == X.shape


def test_conv_blocks_follow_hidden_layer_sizes():
    X = np.random.RandomState(0).normal(size=(30, 2 * 16))
    model = VAETransformer(network="conv", input_shape=(2, 16), hidden_layer_sizes=(3, 5, 7), max_iter=1).fit(
        X
    )
    convolutions = [layer for layer in model.encoder_.modules() if isinstance(layer, nn.Conv1d)]
    assert [layer.out_channels for layer in convolutions] == [3, 5, 7]
    # Each block halves the length: 16 -> 8 -> 4 -> 2.
    assert model.encoder_.network.head.in_features == 7 * 2


def test_conv_needs_an_input_shape_that_holds_the_rows(digits):
    with pytest.raises(ValueError, match="network='conv' needs input_shape"):
        AutoencoderTransformer(network="conv", max_iter=1).fit(digits)
    with pytest.raises(ValueError, match=r"input_shape=\(1, 8, 7\) cannot hold rows of 64 features"):
        AutoencoderTransformer(network="conv", input_shape=(1, 8, 7), max_iter=1).fit(digits)
    with pytest.raises(ValueError, match="input_shape must be"):
        AutoencoderTransformer(network="conv", input_shape=(64,), max_iter=1).fit(digits)
    with pytest.raises(ValueError, match="input_shape must be"):
        AutoencoderTransformer(network="conv", input_shape=(-1, -1), max_iter=1).fit(digits)


def test_conv_needs_a_block_of_channels_at_least(digits):
    with pytest.raises(ValueError, match="takes its channels from hidden_layer_sizes"):
        AutoencoderTransformer(network="conv", input_shape=(1, 8, 8), hidden_layer_sizes=()).fit(digits)


def test_conv_refuses_categorical_columns():
    X = pd.DataFrame({"a": np.arange(20.0), "b": pd.Categorical(["x", "y"] * 10)})
    with pytest.raises(ValueError, match="X has categorical columns"):
        AutoencoderTransformer(network="conv", input_shape=(1, -1), max_iter=1).fit(X)


def test_built_in_networks_take_no_network_params(digits):
    with pytest.raises(ValueError, match="network='conv' takes none"):
        AutoencoderTransformer(network="conv", input_shape=(1, 8, 8), network_params={"width": 3}).fit(digits)


def test_conv_training_lowers_the_error(digits):
    model = AutoencoderTransformer(
        network="conv",
        input_shape=(1, 8, 8),
        hidden_layer_sizes=(8,),
        n_components=8,
        max_iter=15,
        random_state=0,
    ).fit(digits)
    assert model.loss_curve_[-1] < 0.5 * model.loss_curve_[0]


# -- user networks -----------------------------------------------------------------


def test_a_user_network_is_called_with_the_rows_shape_and_its_params(digits):
    CALLS.clear()
    model = AutoencoderTransformer(
        network=recording_pair, network_params={"width": 5}, input_shape=(1, 8, 8), n_components=3, max_iter=2
    ).fit(digits)
    assert CALLS == [{"n_features": 64, "n_components": 3, "input_shape": (1, 8, 8)}]
    assert model.encoder_[0].out_features == 5
    assert model.transform(digits).shape == (300, 3)


def test_n_features_of_a_user_network_counts_one_input_per_category():
    CALLS.clear()
    X = pd.DataFrame({"a": np.arange(30.0), "b": pd.Categorical(["x", "y", "z"] * 10)})
    AutoencoderTransformer(network=recording_pair, max_iter=1).fit(X)
    assert CALLS[0]["n_features"] == 1 + 3
    assert CALLS[0]["input_shape"] is None


@pytest.mark.parametrize("estimator_class", ALL_ESTIMATORS)
def test_user_networks_work_with_every_estimator(estimator_class, digits):
    model = estimator_class(network=user_network(estimator_class), n_components=3, max_iter=3, random_state=0)
    model.fit(digits)
    assert model.transform(digits).shape == (300, 3)
    assert np.isfinite(model.score_samples(digits)).all()
    if hasattr(model, "feature_contributions"):
        assert model.feature_contributions(digits[:4]).shape == (4, 64)


def test_the_imputer_takes_a_user_network(digits):
    X = digits.astype(np.float64)
    X[::3, 5] = np.nan
    imputed = VAEImputer(network=VariationalNetwork, max_iter=2, n_importance_samples=4).fit_transform(X)
    assert not np.isnan(imputed).any()


def test_user_networks_are_seeded_by_random_state_and_leave_torchs_rng_alone(digits):
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    first = AutoencoderTransformer(network=linear_pair, max_iter=2, random_state=0).fit(digits)
    assert torch.equal(torch.rand(3), expected_next)
    second = AutoencoderTransformer(network=linear_pair, max_iter=2, random_state=0).fit(digits)
    np.testing.assert_array_equal(first.transform(digits), second.transform(digits))
    other = AutoencoderTransformer(network=linear_pair, max_iter=2, random_state=1).fit(digits)
    assert not np.array_equal(first.transform(digits), other.transform(digits))


def test_a_user_network_seeds_no_gpus_generator_it_does_not_fork(digits, monkeypatch):
    # torch.manual_seed seeds every GPU's generator too, which the fork of the CPU's leaves seeded.
    calls = []
    monkeypatch.setattr(torch.cuda, "manual_seed_all", lambda seed: calls.append(seed))
    model = AutoencoderTransformer(network=linear_pair, max_iter=1, random_state=0).fit(digits)
    pickle.loads(pickle.dumps(model)).partial_fit(digits)
    assert calls == []


@pytest.mark.parametrize(
    "factory, estimator_class, message",
    [
        (
            wide_code,
            AutoencoderTransformer,
            r"The encoder of network=wide_code returned a float32 tensor of shape \(2, 3\)",
        ),
        (
            linear_pair,
            VAETransformer,
            r"The encoder of network=linear_pair .* must return a pair \(mean, log_variance\)",
        ),
        (
            wrong_decoder,
            AutoencoderTransformer,
            r"The decoder of network=wrong_decoder returned .* \(2, 63\)",
        ),
        (
            failing_encoder,
            AutoencoderTransformer,
            r"The encoder of network=failing_encoder failed on a batch",
        ),
    ],
)
def test_a_user_network_that_returns_the_wrong_shapes_is_named(factory, estimator_class, message, digits):
    with pytest.raises(ValueError, match=message):
        estimator_class(network=factory, max_iter=1).fit(digits)


@pytest.mark.parametrize(
    "factory, estimator_class, role",
    [
        (float64_decoder, AutoencoderOutlierDetector, "decoder"),
        (float64_posterior, VAETransformer, "encoder"),
    ],
)
def test_a_user_network_whose_output_is_not_float32_is_named(factory, estimator_class, role, digits):
    # float64 outputs would meet the float32 rows and statistics later, in a torch error.
    message = rf"The {role} of network={factory.__name__} returned .*float64 tensor"
    with pytest.raises(ValueError, match=message):
        estimator_class(network=factory, n_components=2, max_iter=1).fit(digits)


def posterior_as_list(n_features, n_components, input_shape):
    encoder = PosteriorEncoder(n_features, n_components)
    return ListOutput(encoder), nn.Linear(n_components, n_features)


class ListOutput(nn.Module):
    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, x):
        return list(self.module(x))


@pytest.mark.parametrize(
    "factory, estimator_class", [(pair_as_list, AutoencoderTransformer), (posterior_as_list, VAETransformer)]
)
def test_a_factory_may_return_the_pair_and_the_posterior_as_lists(factory, estimator_class, digits):
    model = estimator_class(network=factory, n_components=2, max_iter=1).fit(digits)
    assert model.transform(digits).shape == (len(digits), 2)


@pytest.mark.parametrize("n_rows, batch_size", [(201, "auto"), (101, 50)])
def test_batch_norm_trains_when_the_rows_leave_a_last_batch_of_one(n_rows, batch_size):
    # The row left over joins the batch before: batch normalisation cannot train on one row.
    X = np.random.RandomState(0).normal(size=(n_rows, 5))
    model = AutoencoderTransformer(network=batch_norm_pair, n_components=2, batch_size=batch_size, max_iter=2)
    assert np.isfinite(model.fit(X).transform(X)).all()


def test_input_shape_and_network_params_given_as_arrays_go_on_training(digits):
    conv = AutoencoderTransformer(
        network="conv", input_shape=np.array([1, 8, 8]), hidden_layer_sizes=(3,), n_components=2, max_iter=1
    )
    conv.fit(digits).partial_fit(digits)
    user = AutoencoderTransformer(network=widths_pair, network_params={"widths": np.array([6])}, max_iter=1)
    user.set_params(warm_start=True).fit(digits).fit(digits)
    assert conv.n_iter_ == 2 and user.n_iter_ == 2


def test_a_network_that_fails_its_check_leaves_no_fitted_model(digits):
    model = AutoencoderTransformer(network=wide_code, max_iter=1)
    with pytest.raises(ValueError, match="The encoder of network=wide_code"):
        model.fit(digits)
    with pytest.raises(NotFittedError):
        model.transform(digits)


def test_a_factory_must_return_two_modules(digits):
    with pytest.raises(TypeError, match=r"must return \(encoder, decoder\), two torch modules"):
        AutoencoderTransformer(network=not_modules, max_iter=1).fit(digits)


def test_module_instances_are_refused_so_that_clones_never_share_weights(digits):
    with pytest.raises(TypeError, match="got an instance of Linear. Pass its class"):
        AutoencoderTransformer(network=nn.Linear(64, 2), max_iter=1).fit(digits)


def test_network_params_cannot_set_what_skvae_passes(digits):
    with pytest.raises(ValueError, match=r"network_params cannot set \['n_components'\]"):
        AutoencoderTransformer(network=linear_pair, network_params={"n_components": 3}).fit(digits)


def test_clones_and_refits_build_fresh_networks(digits):
    model = AutoencoderTransformer(network=linear_pair, max_iter=2, random_state=0).fit(digits)
    encoder = model.encoder_
    copy = clone(model).fit(digits)
    assert copy.encoder_ is not encoder
    assert all(
        a.data_ptr() != b.data_ptr()
        for a, b in zip(encoder.parameters(), copy.encoder_.parameters(), strict=True)
    )
    model.fit(digits)
    assert model.encoder_ is not encoder


def test_grid_search_over_network_params(digits):
    search = GridSearchCV(
        AutoencoderTransformer(network=linear_pair, max_iter=2, random_state=0),
        {"network_params": [{"width": 4}, {"width": 16}]},
        cv=2,
    ).fit(digits)
    assert search.best_params_["network_params"] in ({"width": 4}, {"width": 16})
    assert search.best_estimator_.encoder_[0].out_features == search.best_params_["network_params"]["width"]


# -- saving -------------------------------------------------------------------------


@pytest.mark.parametrize("estimator_class", ALL_ESTIMATORS)
def test_pickle_keeps_user_and_conv_networks(estimator_class, digits):
    for params in ({"network": user_network(estimator_class)}, {"network": "conv", "input_shape": (1, 8, 8)}):
        model = estimator_class(max_iter=2, random_state=0, hidden_layer_sizes=(4,), **params).fit(digits)
        restored = pickle.loads(pickle.dumps(model))
        np.testing.assert_array_equal(restored.score_samples(digits), model.score_samples(digits))


def test_skvae_load_refuses_a_user_network_unless_trusted(tmp_path, digits):
    model = VAETransformer(network=VariationalNetwork, max_iter=2, random_state=0).fit(digits)
    path = tmp_path / "model.skvae"
    skvae.save(model, path)
    name = f"{VariationalNetwork.__module__}.VariationalNetwork"
    with pytest.raises(ValueError, match=rf"holds a user network, {name}; .* load with trusted=\['{name}'\]"):
        skvae.load(path)
    with pytest.raises(ValueError, match="holds a user network"):
        skvae.load(path, trusted=["some.other.network"])
    loaded = skvae.load(path, trusted=[name])
    assert loaded.network is VariationalNetwork
    # The batch-norm buffers (an int64 counter among them) come back too.
    assert loaded.encoder_.network.trunk[1].num_batches_tracked.dtype == torch.int64
    np.testing.assert_array_equal(loaded.transform(digits), model.transform(digits))
    np.testing.assert_array_equal(loaded.score_samples(digits), model.score_samples(digits))


def test_skvae_save_keeps_network_params_and_conv_shapes(tmp_path, digits):
    model = AutoencoderTransformer(network=linear_pair, network_params={"width": 6}, max_iter=2).fit(digits)
    skvae.save(model, tmp_path / "user.skvae")
    loaded = skvae.load(tmp_path / "user.skvae", trusted=[f"{linear_pair.__module__}.linear_pair"])
    assert loaded.network_params == {"width": 6}
    conv = VAEOutlierDetector(network="conv", input_shape=(1, -1), hidden_layer_sizes=(3,), max_iter=2).fit(
        digits
    )
    skvae.save(conv, tmp_path / "conv.skvae")
    np.testing.assert_array_equal(
        skvae.load(tmp_path / "conv.skvae").decision_function(digits), conv.decision_function(digits)
    )


def test_skvae_save_refuses_a_network_it_could_not_import_back(tmp_path, digits):
    def local_pair(n_features, n_components, input_shape):
        return linear_pair(n_features, n_components, input_shape)

    model = AutoencoderTransformer(network=local_pair, max_iter=1).fit(digits)
    with pytest.raises(ValueError, match="must be a function or class defined at module level"):
        skvae.save(model, tmp_path / "model.skvae")


def test_skvae_save_names_the_network_param_it_cannot_hold_and_what_to_do(tmp_path, digits):
    model = AutoencoderTransformer(network=widths_pair, network_params={"act": nn.GELU}, max_iter=1).fit(
        digits
    )
    with pytest.raises(ValueError, match=r"parameter network_params\['act'\]=.*with set_params first"):
        skvae.save(model, tmp_path / "model.skvae")
    # The networks were built with it: a new value does not change what the file would hold.
    model.set_params(network_params={})
    with pytest.raises(ValueError, match=r"network_params\['act'\]=.*Refit .* or save with pickle or skops"):
        skvae.save(model, tmp_path / "model.skvae")


def test_skvae_load_says_why_a_trusted_network_cannot_be_imported(tmp_path, digits, monkeypatch):
    package = tmp_path / "lab_networks"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "pairs.py").write_text(
        "from tests.test_networks import linear_pair\n\ndef pair(n_features, n_components, input_shape):\n"
        "    return linear_pair(n_features, n_components, input_shape)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    from lab_networks.pairs import pair

    path = tmp_path / "model.skvae"
    skvae.save(AutoencoderTransformer(network=pair, max_iter=1).fit(digits), path)
    # The module is there, but a dependency of it is not: the error says which.
    (package / "pairs.py").write_text("import a_dependency_not_installed_here\n")
    monkeypatch.delitem(sys.modules, "lab_networks.pairs")
    with pytest.raises(
        ValueError, match="cannot be imported here: .*No module named 'a_dependency_not_installed"
    ):
        skvae.load(path, trusted=["lab_networks.pairs.pair"])


def test_skops_asks_to_trust_a_user_network(digits):
    sio = pytest.importorskip("skops.io")
    model = AutoencoderTransformer(network=linear_pair, max_iter=2, random_state=0).fit(digits)
    data = sio.dumps(model)
    untrusted = sio.get_untrusted_types(data=data)
    assert f"{linear_pair.__module__}.linear_pair" in untrusted
    loaded = sio.loads(data, trusted=untrusted)
    np.testing.assert_array_equal(loaded.transform(digits), model.transform(digits))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device to fit on")
@pytest.mark.parametrize("estimator_class", ALL_ESTIMATORS)
def test_conv_and_user_networks_train_on_a_gpu(estimator_class, digits, monkeypatch):
    # cuDNN's convolutions may compute in TF32 (relative error about 1e-3): float32's precision
    # here, so that the comparison with the CPU below measures the move between devices.
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    for params in ({"network": user_network(estimator_class)}, {"network": "conv", "input_shape": (1, 8, 8)}):
        model = estimator_class(device="cuda", max_iter=2, random_state=0, **params).fit(digits)
        assert all(parameter.is_cuda for parameter in model._networks().parameters())
        assert np.isfinite(model.score_samples(digits)).all()
        restored = pickle.loads(pickle.dumps(model))  # back on the CPU
        np.testing.assert_allclose(restored.transform(digits), model.transform(digits), rtol=1e-4, atol=1e-4)


@pytest.fixture
def float64_by_default():
    dtype = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(dtype)


@pytest.mark.parametrize(
    "estimator",
    [
        AutoencoderOutlierDetector(max_iter=2, random_state=0),
        VAEOutlierDetector(max_iter=2, random_state=0),
        VAEOutlierDetector(network="conv", input_shape=(1, -1), hidden_layer_sizes=(4,), max_iter=2),
    ],
    ids=["autoencoder", "vae", "conv"],
)
def test_networks_compute_in_float32_whatever_torchs_default_dtype(estimator, float64_by_default):
    X = np.random.RandomState(0).normal(size=(60, 8))
    X[::7, 3] = np.nan
    estimator.fit(X)
    assert all(p.dtype == torch.float32 for p in estimator._networks().parameters())
    assert np.isfinite(estimator.score_samples(X)).all()
    assert np.isfinite(estimator.feature_contributions(X[:5])).all()
    assert np.isfinite(pickle.loads(pickle.dumps(estimator)).score_samples(X)).all()


@pytest.mark.parametrize(
    "estimator",
    [
        AutoencoderOutlierDetector(max_iter=2, random_state=0),
        VAEOutlierDetector(max_iter=2, random_state=0),
        VAEImputer(max_iter=2, random_state=0, sample_posterior=True),
        VAETransformer(network="conv", input_shape=(1, -1), hidden_layer_sizes=(4,), max_iter=2),
        AutoencoderTransformer(network=linear_pair, max_iter=2, random_state=0),
    ],
    ids=["autoencoder", "vae", "imputer", "conv", "user network"],
)
def test_tensors_are_placed_by_the_device_parameter_whatever_torchs_default_device(estimator):
    # torch.set_default_device("cuda") in a user's session moves every tensor made without a device;
    # the meta device, which holds no data, makes any such tensor fail here, on CPU machines.
    rng = np.random.RandomState(0)
    X = pd.DataFrame(rng.normal(size=(60, 6)), columns=[f"x{j}" for j in range(6)])
    X["colour"] = pd.Categorical(rng.choice(["red", "blue"], 60))
    if estimator.network == "conv":
        X = X.drop(columns="colour")
    X.iloc[::7, 3] = np.nan
    with torch.device("meta"):
        estimator.fit(X)
        outputs = [estimator.score_samples(X), estimator.transform(X)]
        if hasattr(estimator, "feature_contributions"):
            outputs += [estimator.feature_contributions(X[:5]), estimator.predict(X)]
        if hasattr(estimator, "sample"):
            outputs += [estimator.sample(3)]
        restored = pickle.loads(pickle.dumps(estimator))
    assert all(p.device.type == "cpu" for p in estimator._networks().parameters())
    for output in outputs:
        assert np.isfinite(np.asarray(pd.DataFrame(output).select_dtypes("number"), dtype=float)).all()
    np.testing.assert_array_equal(restored.score_samples(X), outputs[0])


def test_a_user_network_builds_in_float32_whatever_torchs_default_dtype(digits, tmp_path):
    # Fitted in one process, loaded in another whose default dtype is float64 (and the reverse).
    fitted_before = AutoencoderTransformer(network=linear_pair, max_iter=2, random_state=0).fit(digits)
    skvae.save(fitted_before, tmp_path / "model.skvae")
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        fitted_now = AutoencoderTransformer(network=linear_pair, max_iter=2, random_state=0).fit(digits)
        assert torch.get_default_dtype() == torch.float64  # the process's own setting, kept
        loaded = skvae.load(tmp_path / "model.skvae", trusted=[f"{linear_pair.__module__}.linear_pair"])
        restored = pickle.loads(pickle.dumps(fitted_before))
    finally:
        torch.set_default_dtype(default)
    assert all(p.dtype == torch.float32 for p in fitted_now._networks().parameters())
    np.testing.assert_array_equal(fitted_now.transform(digits), fitted_before.transform(digits))
    for model in (loaded, restored):
        np.testing.assert_array_equal(model.transform(digits), fitted_before.transform(digits))


class CastTo(nn.Module):
    """A layer of another dtype that takes and returns float32: it runs, but would not save."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, x):
        return self.layer(x.to(self.layer.weight.dtype)).float()


@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16])
def test_a_user_network_of_weights_other_than_float32_is_refused_at_fit(digits, dtype):
    def cast_pair(n_features, n_components, input_shape):
        encoder = nn.Linear(n_features, n_components, dtype=dtype)
        return CastTo(encoder), nn.Linear(n_components, n_features)

    name = str(dtype).removeprefix("torch.")
    with pytest.raises(ValueError, match=f"The encoder of network=.*cast_pair holds {name} weights .'layer"):
        AutoencoderTransformer(network=cast_pair, max_iter=1).fit(digits)


class CountingEncoder(nn.Module):
    """A float32 layer beside a float64 buffer that is no weight (a count of the rows seen)."""

    def __init__(self, n_features, n_components):
        super().__init__()
        self.layer = nn.Linear(n_features, n_components)
        self.register_buffer("rows_seen", torch.zeros((), dtype=torch.float64))

    def forward(self, x):
        if self.training:
            self.rows_seen += x.shape[0]
        return self.layer(x)


def counting_pair(n_features, n_components, input_shape):
    return CountingEncoder(n_features, n_components), nn.Linear(n_components, n_features)


def test_a_user_networks_buffers_keep_their_dtype_through_pickle_and_save(digits, tmp_path):
    model = AutoencoderTransformer(network=counting_pair, max_iter=2, random_state=0).fit(digits)
    assert model.encoder_.rows_seen.dtype == torch.float64 and model.encoder_.rows_seen == 2 * len(digits)
    assert pickle.loads(pickle.dumps(model)).encoder_.rows_seen.dtype == torch.float64
    skvae.save(model, tmp_path / "counting.skvae")
    loaded = skvae.load(tmp_path / "counting.skvae", trusted=[f"{counting_pair.__module__}.counting_pair"])
    assert loaded.encoder_.rows_seen == model.encoder_.rows_seen


def moved_pair(n_features, n_components, input_shape):
    # Moving to a device, or reading a value, needs real tensors.
    encoder = nn.Linear(n_features, n_components).to("cpu")
    decoder = nn.Linear(n_components, n_features)
    with torch.no_grad():
        decoder.bias.fill_(float(encoder.weight.abs().max().item()) * 0.0)
    return encoder, decoder


def test_a_factory_that_needs_real_tensors_builds_again_through_pickle_copy_and_save(digits, tmp_path):
    model = AutoencoderTransformer(network=moved_pair, max_iter=2, random_state=0).fit(digits)
    skvae.save(model, tmp_path / "moved.skvae")
    loaded = skvae.load(tmp_path / "moved.skvae", trusted=[f"{moved_pair.__module__}.moved_pair"])
    for restored in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model), loaded):
        np.testing.assert_array_equal(restored.transform(digits), model.transform(digits))


def lazy_pair(n_features, n_components, input_shape):
    return nn.Sequential(nn.LazyLinear(n_components)), nn.Linear(n_components, n_features)


def test_lazy_layers_are_refused_at_fit_since_a_saved_model_could_not_be_rebuilt(digits):
    with pytest.raises(
        ValueError, match=r"The encoder of network=.*lazy_pair holds lazy layers \(LazyLinear '0'\)"
    ):
        AutoencoderTransformer(network=lazy_pair, max_iter=1).fit(digits)


def test_a_user_network_with_dropout_trains_from_random_state_alone_and_leaves_torchs_rng(digits):
    def fitted_after(global_seed):
        torch.manual_seed(global_seed)
        state = torch.get_rng_state()
        model = AutoencoderTransformer(network=dropout_pair, max_iter=3, random_state=0).fit(digits[:200])
        assert torch.equal(torch.get_rng_state(), state)
        return model

    np.testing.assert_array_equal(fitted_after(1).transform(digits), fitted_after(2).transform(digits))


def test_a_decoder_of_buffers_only_is_used_where_the_encoder_is(digits):
    # Under the meta device, a decoder left where torch's default device says would hold no data.
    with torch.device("meta"):
        model = AutoencoderTransformer(network=fixed_decoder, max_iter=2, random_state=0).fit(digits)
        codes, reconstructed = model.transform(digits), model.inverse_transform(model.transform(digits))
    assert all(buffer.device.type == "cpu" for buffer in model.decoder_.buffers())
    assert codes.shape == (len(digits), 2) and np.isfinite(reconstructed).all()


def test_networks_with_nothing_to_train_are_refused(digits):
    with pytest.raises(ValueError, match="no trainable parameter"):
        AutoencoderTransformer(network=fixed_pair, max_iter=2).fit(digits)


def test_network_params_changed_in_place_after_fit_leave_the_fitted_model_as_it_was(digits):
    params = {"width": 8}
    model = AutoencoderTransformer(network=linear_pair, network_params=params, max_iter=2).fit(digits)
    params["width"] = 3  # the same dict the estimator holds
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.transform(digits), model.transform(digits))


def test_a_user_network_that_writes_into_its_inputs_leaves_the_users_arrays_as_they_were(digits):
    # float32, unscaled and in order: the batches would be views of the user's array
    X = digits[:256].astype(np.float32) - 8
    X.flags.writeable = False
    codes = np.linspace(-2, 2, 2 * len(X), dtype=np.float32).reshape(-1, 2)
    codes.flags.writeable = False
    X_before, codes_before = X.copy(), codes.copy()
    model = AutoencoderTransformer(
        network=in_place_pair, standardize=False, shuffle=False, max_iter=2, random_state=0
    ).fit(X)
    model.transform(X), model.inverse_transform(codes)
    restored = pickle.loads(pickle.dumps(model))
    restored.transform(X), restored.inverse_transform(codes)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(codes, codes_before)
