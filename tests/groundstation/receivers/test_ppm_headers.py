"""The header words of a frame-marker candidate: direct, then listed (list decoding), in the
compiled kernel as in the numpy reference."""

from __future__ import annotations

import numpy as np
import pytest

from groundstation.receivers import ppm_headers as ph
from groundstation.receivers.ppm_kernels import NUMBA_AVAILABLE
from signals.formats.ppm import HEADER_PERIODS, N_LEVELS, header_check

needs_numba = pytest.mark.skipif(not NUMBA_AVAILABLE, reason="numba is not installed")


def _word(rng: np.random.Generator) -> list[int]:
    values = rng.integers(0, N_LEVELS, HEADER_PERIODS)
    values[-1] = header_check(values)
    return values.tolist()


def _energies(word: list[int], rng: np.random.Generator, pulse: float = 10.0) -> np.ndarray:
    """Both copies' slot energies for ``word``: weak noise, the pulse at each level sent."""
    e = rng.exponential(0.05, (2, HEADER_PERIODS, N_LEVELS)).astype(np.float32)
    e[:, np.arange(HEADER_PERIODS), word] += np.float32(pulse)
    return e


@pytest.mark.parametrize("words", [ph.header_words_numpy, ph.header_words])
def test_a_clean_header_is_the_direct_word_of_each_copy_and_of_both(words):
    rng = np.random.default_rng(1)
    word = _word(rng)
    direct, listed = words(_energies(word, rng), (True, True))
    assert direct == [(0, word), (1, word), (-1, word)]
    assert word not in listed  # the list's first choice, all best levels, was tried
    direct, _ = words(_energies(word, rng), (False, True))
    assert direct == [(1, word), (-1, word)]


@pytest.mark.parametrize("words", [ph.header_words_numpy, ph.header_words])
def test_two_periods_read_as_their_runner_up_are_listed_first(words):
    rng = np.random.default_rng(2)
    word = _word(rng)
    e = _energies(word, rng)
    for period in (2, 5):  # a stronger wrong pulse in both copies
        wrong = (word[period] + 17) % N_LEVELS
        e[:, period, wrong] = np.float32(5.5)
        e[:, period, word[period]] = np.float32(5.0)
    direct, listed = words(e, (True, True))
    assert all(values != word for _, values in direct)
    assert listed[0] == word
    assert all(int(header_check(values)) == values[-1] for values in listed)


@pytest.mark.parametrize("words", [ph.header_words_numpy, ph.header_words])
def test_equal_energies_take_the_lower_level_first(words):
    # Period 3 holds two pulses as strong as each other, at levels 0 and 50; the word sent
    # has 50. The direct word takes the lower level, as a slot decision does; the list
    # then offers the other one first (it gives up no energy).
    word = [3, 9, 1, 50, 40, 7, 2, 0]
    word[-1] = int(header_check(word))
    e = np.zeros((2, HEADER_PERIODS, N_LEVELS), np.float32)
    e[0, np.arange(HEADER_PERIODS), word] = 4.0
    e[0, 3, 0] = 4.0
    direct, listed = words(e, (True, False))
    assert [values[3] for _, values in direct] == [0, 0]
    assert listed[0] == word
    # the levels without energy, all equal, come in the order of their levels
    assert all(values[3] in (0, 50, 1) for values in listed)


@pytest.mark.parametrize("words", [ph.header_words_numpy, ph.header_words])
def test_a_nan_energy_ranks_first_in_the_list_as_in_the_direct_word(words):
    rng = np.random.default_rng(4)
    word = _word(rng)
    e = _energies(word, rng)
    e[1, 2, 55] = np.nan  # an overflowed window
    direct, listed = words(e, (True, True))
    assert direct[-1][1][2] == 55  # np.argmax takes the NaN
    assert direct[-1][1] not in listed  # the list starts from the same word


@needs_numba
def test_compiled_words_equal_the_reference():
    rng = np.random.default_rng(3)
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-38], np.float32)
    for i in range(1500):
        e = rng.exponential(1.0, (2, HEADER_PERIODS, N_LEVELS)).astype(np.float32)
        if i % 13 == 5:
            at = rng.integers(0, e.size, 8)
            e.reshape(-1)[at] = rng.choice(specials, 8)
        if i % 3 == 1:
            e = np.round(e * 2).astype(np.float32)  # many equal energies
        if i % 5 == 2:
            e[:, rng.integers(HEADER_PERIODS)] = 0.0  # an erased period
        if i % 7 == 3:
            e[rng.integers(2), rng.integers(HEADER_PERIODS), rng.integers(N_LEVELS)] = np.nan
        if i % 11 == 4:
            e[1, rng.integers(HEADER_PERIODS)] = np.nan
        present = (bool(rng.integers(2)), bool(rng.integers(2)))
        direct, listed = ph.header_words_numpy(e, present)
        assert ph.header_words_numba(e, present) == (direct, listed), i
        assert direct[-1][1] not in listed, i
