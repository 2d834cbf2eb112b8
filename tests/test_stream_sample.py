"""partial_fit calibrates on an even sample of every chunk streamed in (skvae._stream_sample)."""

import numpy as np
import pytest
import scipy.sparse as sp

from skvae._stream_sample import merge_chunk, recalibrates, sample_capacity


def stream(chunks, seed=0):
    sample = keys = None
    for i, chunk in enumerate(chunks):
        sample, keys = merge_chunk(sample, keys, chunk, random_state=[seed, i])
    return sample, keys


def test_the_sample_holds_every_row_until_it_is_full():
    X = np.arange(30.0).reshape(10, 3)
    sample, keys = stream([X[:4], X[4:]])
    np.testing.assert_array_equal(sample, X)
    assert keys.shape == (10,)


def test_a_full_sample_draws_evenly_from_every_chunk_whatever_their_sizes():
    width = 2**21 // 1000  # a sample of 1,000 rows
    assert sample_capacity(width) == 1000
    first = np.zeros((9000, width), dtype=np.float32)
    tiny = np.ones((1, width), dtype=np.float32)
    last = np.full((3000, width), 2.0, dtype=np.float32)
    sample, _ = stream([first, tiny, last])
    assert sample.shape == (1000, width) and sample.dtype == np.float32
    share_of_last = np.mean(sample[:, 0] == 2.0)
    assert share_of_last == pytest.approx(3000 / 12001, abs=0.04)


def test_the_sample_keeps_the_order_rows_came_in():
    X = np.arange(3000.0)[:, None] * np.ones((1, 2000))  # a sample of 1,048 rows
    sample, _ = stream([X[:1000], X[1000:2000], X[2000:]])
    assert np.all(np.diff(sample[:, 0]) > 0)


def test_sparse_chunks_give_a_sparse_sample():
    X = sp.random(50, 4, density=0.3, format="csr", random_state=0)
    sample, _ = stream([X[:20], X[20:]])
    assert sp.issparse(sample) and sample.format == "csr"
    np.testing.assert_array_equal(sample.toarray(), X.toarray())


def test_the_same_seed_draws_the_same_sample():
    X = np.random.RandomState(0).normal(size=(5000, 500))
    first, _ = stream([X[:2500], X[2500:]])
    again, _ = stream([X[:2500], X[2500:]])
    other, _ = stream([X[:2500], X[2500:]], seed=1)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_sparse_and_dense_chunks_mix_in_one_sparse_sample():
    X = sp.random(40, 4, density=0.3, format="csr", random_state=0)
    sample, _ = stream([X[:20], X[20:].toarray()])
    assert sp.issparse(sample)
    np.testing.assert_array_equal(sample.toarray(), X.toarray())


@pytest.mark.parametrize(
    ("sample_rows", "calibration_rows", "expected"),
    [(1, 0, True), (1, 10_000, False), (999, 10_000, False), (1000, 10_000, True), (50, 50, True)],
)
def test_partial_fit_recalibrates_once_its_sample_stands_for_as_many_rows(
    sample_rows, calibration_rows, expected
):
    assert recalibrates(sample_rows, calibration_rows) is expected
