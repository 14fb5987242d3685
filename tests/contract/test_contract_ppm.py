"""ICD §3 (5 cm PPM) pinned by value: every literal here is copied from the ICD, not imported.

The project's modulator and receiver read the same format module, so a one-chip error in a
marker or a slot shared by both ends decodes perfectly in a round trip. These tests hold the
ICD's numbers themselves and compare them with what the code uses, what the modulator puts
on the air (pulse by pulse), and what the receiver makes of a waveform written here from the
ICD's formulas.
"""

from __future__ import annotations

import numpy as np
import pytest

from groundstation.outputs.ppm import grey_to_8bit
from groundstation.receivers.ppm import ArraySource, decode_ppm
from signals.formats import ppm as fmt
from signals.modulators.ppm import ImageTransmission, PpmChannel, PpmSignal, SilentGap

# ------------------------------------------------------------------ the ICD, copied
ICD_CHIP_S = 1.0 / 45_000.0
ICD_PERIOD_CHIPS = 500
ICD_LINE_MARKER = (0, 4, 13, 31)
ICD_FRAME_MARKER = (0, 9, 24, 44)
SILENT, LINE_MARKER, FRAME_MARKER = -1, 64, 65


def icd_slot_chip(g: int) -> int:
    """c(g) = 50 + 6·g (ICD §3)."""
    return 50 + 6 * g


def icd_header(image_id: int, lines: int, pixels: int, mode: int) -> list[int]:
    """id_hi, id_lo, lines_hi, lines_lo, pixels_hi, pixels_lo, mode, check (sum mod 64)."""
    values = [image_id // 64, image_id % 64, lines // 64, lines % 64, pixels // 64, pixels % 64]
    values.append(mode)
    return [*values, sum(values) % 64]


def icd_periods(image_id: int, grey: np.ndarray, mode: int) -> list[int]:
    """Period codes of one image: (frame marker, header) twice, then the lines."""
    lines, pixels = grey.shape
    head = [FRAME_MARKER, *icd_header(image_id, lines, pixels, mode)]
    codes = head + head
    step = mode if mode >= 2 else 1
    for line in range(0, lines, step):
        codes += [LINE_MARKER, line // 64, line % 64, 0, 63, *grey[line].tolist()]
    return codes


def icd_pulse_chips(codes: list[int]) -> list[int]:
    """Absolute start chip of every pulse of a run of period codes."""
    chips = []
    for p, code in enumerate(codes):
        base = p * ICD_PERIOD_CHIPS
        if code == FRAME_MARKER:
            chips += [base + c for c in ICD_FRAME_MARKER]
        elif code == LINE_MARKER:
            chips += [base + c for c in ICD_LINE_MARKER]
        elif code >= 0:
            chips.append(base + icd_slot_chip(code))
    return chips


# ------------------------------------------------------------------ constants by value


def test_chip_and_period() -> None:
    assert fmt.CHIP_S == pytest.approx(ICD_CHIP_S, rel=1e-12)
    assert fmt.PERIOD_CHIPS == ICD_PERIOD_CHIPS
    assert fmt.PERIOD_S == pytest.approx(1.0 / 90.0, rel=1e-12)


def test_slot_of_every_grey_level() -> None:
    expected = [icd_slot_chip(g) for g in range(64)]
    assert fmt.SLOT_CHIPS.tolist() == expected
    assert [int(fmt.slot_chip(g)) for g in range(64)] == expected
    assert expected[0] == 50 and expected[63] == 428  # "never before 50 or after 428"


def test_marker_chip_sets() -> None:
    assert tuple(fmt.LINE_MARKER_CHIPS) == ICD_LINE_MARKER
    assert tuple(fmt.FRAME_MARKER_CHIPS) == ICD_FRAME_MARKER


def test_header_layout_and_check_by_hand() -> None:
    # id 1234 = 19·64 + 18, lines 100 = 1·64 + 36, pixels 4095 = 63·64 + 63, survey mode 5:
    # check = (19 + 18 + 1 + 36 + 63 + 63 + 5) mod 64 = 205 mod 64 = 13
    values = [19, 18, 1, 36, 63, 63, 5, 13]
    assert icd_header(1234, 100, 4095, 5) == values
    header = fmt.PpmHeader(image_id=1234, lines=100, pixels=4095, mode=5)
    assert header.pack().tolist() == values
    assert fmt.PpmHeader.unpack(np.array(values)) == header
    assert int(fmt.header_check(np.array(values))) == 13
    # a check that is the sum mod 63 (= 16) or anything else is refused
    with pytest.raises(fmt.PpmFormatError):
        fmt.PpmHeader.unpack(np.array([*values[:7], 205 % 63]))


@pytest.mark.parametrize(
    ("line", "prefix"), [(0, [0, 0, 0, 63]), (77, [1, 13, 0, 63]), (4095, [63, 63, 0, 63])]
)
def test_line_prefix_is_number_then_calibration(line: int, prefix: list[int]) -> None:
    # line marker, 2 periods of 12-bit line number (hi, lo), calibration g = 0 then g = 63
    assert fmt.line_prefix(line).tolist() == prefix
    assert fmt.LINE_PREFIX_PERIODS == 5


def test_grey_to_8bit_is_rounded_scaling() -> None:
    g = np.arange(64)
    expected = np.floor(g * 255 / 63 + 0.5).astype(np.uint8)  # round(g·255/63); never .5
    assert grey_to_8bit(g).tolist() == expected.tolist()
    assert grey_to_8bit(np.array([0, 1, 31, 32, 62, 63])).tolist() == [0, 4, 125, 130, 251, 255]


# ------------------------------------------------------------------ the modulator's pulses


def test_modulator_puts_every_pulse_where_the_icd_says() -> None:
    """Noise-free, 10 samples per chip, no clock error: every chip with energy is a pulse."""
    rng = np.random.default_rng(7)
    full = rng.integers(0, 64, size=(3, 5))
    survey = rng.integers(0, 64, size=(5, 4))
    fs_hz = 450_000.0
    signal = PpmSignal(
        [
            ImageTransmission(full, image_id=1234),
            SilentGap(2),
            ImageTransmission(survey, image_id=77, mode=2),
        ],
        fs_hz=fs_hz,
        channel=PpmChannel(random_phase=False),
    )
    codes = icd_periods(1234, full, 0) + [SILENT] * 2 + icd_periods(77, survey, 2)
    assert signal.total_periods == len(codes)
    x = signal.samples(rng)
    samples_per_chip = round(fs_hz * ICD_CHIP_S)
    n_chips = len(codes) * ICD_PERIOD_CHIPS
    chip_energy = np.sum(
        np.abs(x[: n_chips * samples_per_chip].reshape(n_chips, samples_per_chip)) ** 2, axis=1
    )
    on = np.flatnonzero(chip_energy > 0.5 * samples_per_chip)
    assert on.tolist() == icd_pulse_chips(codes)
    # each pulse is one whole chip at the full amplitude, nothing between pulses
    assert np.allclose(chip_energy[on], samples_per_chip, rtol=1e-4)
    assert np.all(np.delete(chip_energy, on) < 1e-6)


# ------------------------------------------------------------------ the receiver


def icd_waveform(
    codes: list[int], rng: np.random.Generator, *, fs_hz: float, esn0_db: float, lead_s: float
) -> np.ndarray:
    """Integrate-and-dump samples at an integer samples-per-chip rate (ICD §2-§3)."""
    spc = round(fs_hz * ICD_CHIP_S)
    lead = round(lead_s * fs_hz)
    chips = np.array(icd_pulse_chips(codes))
    n = lead + (len(codes) * ICD_PERIOD_CHIPS) * spc + lead
    x = np.zeros(n, np.complex128)
    phase = np.exp(2j * np.pi * rng.uniform(size=chips.size))  # random per pulse
    idx = lead + chips[:, None] * spc + np.arange(spc)[None, :]
    x[idx] = phase[:, None]  # amplitude A = 1 over the whole chip
    n0 = ICD_CHIP_S / 10 ** (esn0_db / 10)  # Es = A²·τ
    sigma = np.sqrt(n0 * fs_hz / 2)
    x += sigma * (rng.standard_normal(n) + 1j * rng.standard_normal(n))
    return x.astype(np.complex64)


def test_receiver_decodes_a_waveform_written_from_the_icd() -> None:
    # Es/N0 20 dB: P_s ~ 1e-20 per period, every level must come back exactly
    rng = np.random.default_rng(2026)
    full = rng.integers(0, 64, size=(6, 10))
    survey = rng.integers(0, 64, size=(7, 6))
    codes = icd_periods(2049, full, 0) + [SILENT] * 3 + icd_periods(5, survey, 3)
    fs_hz = 180_000.0
    x = icd_waveform(codes, rng, fs_hz=fs_hz, esn0_db=20.0, lead_s=0.03)
    result = decode_ppm(ArraySource(x, fs_hz))
    assert [(i.image_id, i.lines, i.pixels, i.mode) for i in result.images] == [
        (2049, 6, 10, 0),
        (5, 7, 6, 3),
    ]
    first, second = result.images
    assert first.received.all() and not first.lines_missing
    assert np.array_equal(first.grey, full)
    sent = np.arange(0, 7, 3)
    assert np.flatnonzero(second.received).tolist() == sent.tolist()
    assert np.array_equal(second.grey[sent], survey[sent])
    assert first.sample_start == pytest.approx(0.03 * fs_hz, abs=1)
