"""5 cm PPM image transmitter and channel (ICD §2-§3), streamed in chunks.

A :class:`PpmSignal` turns a plan (images and silent gaps on one continuous period grid)
into complex baseband as an integrate-and-dump front end samples it: sample ``n`` is the
average of the continuous envelope over ``[n/fs, (n+1)/fs)``. Each pulse is a rectangular
burst of one chip at a constant carrier offset, so that average is computed in closed form
(the integral of a complex exponential over the overlap of the pulse and the sample).

The channel applies, in this order: the on-board clock (all intervals × (1 + ε(t)), with
ε drifting linearly), the Doppler time scale (× (1 + v/c)), a residual carrier offset with
a constant rate, an independent random carrier phase per pulse, and complex white Gaussian
noise at a given Es/N0 (Es = A²·τ, σ² = N0·fs per complex sample).

Memory stays bounded whatever the image size: each chunk computes only the pulses whose
first sample falls in it (found by inverting the time map), and carries the tail of a pulse
that crosses the chunk edge into the next chunk.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from signals.errors import ConfigError
from signals.formats.ppm import (
    CHIP_S,
    FRAME_MARKER_CHIPS,
    GREY_MAX,
    HEADER_COPY_PERIODS,
    LINE_MARKER_CHIPS,
    LINE_PREFIX_PERIODS,
    MIN_FS_HZ,
    N_LEVELS,
    PERIOD_CHIPS,
    PERIOD_S,
    PREAMBLE_PERIODS,
    PeriodKind,
    PpmHeader,
    line_prefix,
    slot_chip,
)

#: Default chunk length of the sample stream (complex samples).
DEFAULT_CHUNK_SAMPLES: Final = 1 << 18
_NO_PULSE: Final = -1


@dataclass(frozen=True)
class ImageTransmission:
    """One transmission of an image.

    Attributes
    ----------
    image : ndarray of uint8, shape (lines, pixels)
        Grey levels 0..63.
    image_id : int
        Header image id (0..4095).
    mode : int
        0 full image, k >= 2 survey (lines 0, k, 2k, ...).
    faded_lines : tuple of int
        Line numbers lost in a fade: their periods stay on the grid but are silent.
    """

    image: np.ndarray
    image_id: int
    mode: int = 0
    faded_lines: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        image = np.asarray(self.image)
        if image.ndim != 2:
            raise ConfigError(f"an image must be 2-D, got shape {image.shape}")
        if image.size and (int(image.min()) < 0 or int(image.max()) > GREY_MAX):
            raise ConfigError("image grey levels must be 0..63")
        self.header  # validates id, size and mode  # noqa: B018

    @property
    def header(self) -> PpmHeader:
        """The header this transmission sends."""
        lines, pixels = np.shape(self.image)
        try:
            return PpmHeader(self.image_id, lines, pixels, self.mode)
        except Exception as error:
            raise ConfigError(str(error)) from None

    @property
    def n_periods(self) -> int:
        """Periods this transmission occupies on the grid."""
        return self.header.total_periods


@dataclass(frozen=True)
class SilentGap:
    """Whole silent periods on the grid (between images)."""

    periods: int

    @property
    def n_periods(self) -> int:
        """Periods this gap occupies."""
        return self.periods


@dataclass(frozen=True)
class PpmChannel:
    """Transmitter clock, propagation and receiver impairments.

    Attributes
    ----------
    clock_ppm : float
        On-board clock error ε at the start (ppm); intervals × (1 + ε), ε > 0 slower.
    drift_ppm_per_hour : float
        Linear drift of ε (ppm per hour of transmitter time).
    doppler_v_over_c : float
        Range rate over c; received intervals × (1 + v/c) (positive: receding).
    carrier_offset_hz : float
        Residual carrier offset at sample 0 (Hz).
    carrier_rate_hz_per_s : float
        Rate of the residual carrier offset (Hz/s).
    esn0_db : float or None
        Es/N0 per pulse (dB), Es = A²·τ; None for no noise.
    random_phase : bool
        Independent uniform carrier phase per pulse (ICD); False keeps a continuous carrier.
    amplitude : float
        Pulse envelope amplitude A.
    """

    clock_ppm: float = 0.0
    drift_ppm_per_hour: float = 0.0
    doppler_v_over_c: float = 0.0
    carrier_offset_hz: float = 0.0
    carrier_rate_hz_per_s: float = 0.0
    esn0_db: float | None = None
    random_phase: bool = True
    amplitude: float = 1.0

    def noise_sigma(self, fs_hz: float) -> float:
        """Noise standard deviation per complex sample, sqrt(N0·fs) (0 without noise)."""
        if self.esn0_db is None:
            return 0.0
        n0 = self.amplitude**2 * CHIP_S / 10.0 ** (self.esn0_db / 10.0)
        return math.sqrt(n0 * fs_hz)


@dataclass
class _Segment:
    first_period: int
    item: ImageTransmission | SilentGap
    sent_lines: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    faded: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))


class PpmSignal:
    """A planned PPM transmission through a channel, sampled at ``fs_hz``.

    Parameters
    ----------
    items : sequence of ImageTransmission or SilentGap
        The plan, in order, on one continuous period grid.
    fs_hz : float
        Complex sample rate (Hz), at least 90 kHz.
    channel : PpmChannel
        Impairments.
    lead_s : float
        Silence before the first period (s, receiver time).
    tail_s : float
        Silence after the last period (s, receiver time).
    """

    def __init__(
        self,
        items: Sequence[ImageTransmission | SilentGap],
        *,
        fs_hz: float,
        channel: PpmChannel | None = None,
        lead_s: float = 0.0,
        tail_s: float = 0.0,
    ):
        if fs_hz < MIN_FS_HZ:
            raise ConfigError(f"fs_hz {fs_hz:g} is below the PPM minimum of {MIN_FS_HZ:g} Hz")
        if lead_s < 0 or tail_s < 0:
            raise ConfigError("lead_s and tail_s must not be negative")
        self.fs_hz = float(fs_hz)
        self.channel = channel or PpmChannel()
        self.lead_s = float(lead_s)
        self.tail_s = float(tail_s)
        self.segments: list[_Segment] = []
        period = 0
        for item in items:
            segment = _Segment(period, item)
            if isinstance(item, ImageTransmission):
                header = item.header
                segment.sent_lines = header.sent_lines
                segment.faded = np.isin(segment.sent_lines, np.asarray(item.faded_lines))
            elif not isinstance(item, SilentGap) or item.periods < 0:
                raise ConfigError(f"not a plan item: {item!r}")
            self.segments.append(segment)
            period += item.n_periods
        self.total_periods = period
        end_s = float(self.rx_time_s(np.array([period * PERIOD_S]))[0]) + self.tail_s
        self.n_samples = math.ceil(end_s * self.fs_hz)

    # ------------------------------------------------------------------ time maps

    @property
    def _drift_per_s(self) -> float:
        return self.channel.drift_ppm_per_hour * 1e-6 / 3600.0

    def rx_time_s(self, tx_time_s: np.ndarray) -> np.ndarray:
        """Receiver time (s from sample 0) of transmitter grid time ``tx_time_s`` (s)."""
        eps0 = self.channel.clock_ppm * 1e-6
        u = np.asarray(tx_time_s, dtype=np.float64)
        scaled = u * (1.0 + eps0) + 0.5 * self._drift_per_s * u * u
        return self.lead_s + (1.0 + self.channel.doppler_v_over_c) * scaled

    def tx_time_s(self, rx_time_s: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`rx_time_s`."""
        eps0 = self.channel.clock_ppm * 1e-6
        y = (np.asarray(rx_time_s, np.float64) - self.lead_s) / (
            1.0 + self.channel.doppler_v_over_c
        )
        k = self._drift_per_s
        b = 1.0 + eps0
        if k == 0.0:
            return y / b
        return 2.0 * y / (b + np.sqrt(np.maximum(b * b + 2.0 * k * y, 0.0)))

    def period_start_samples(self, periods: np.ndarray) -> np.ndarray:
        """Receiver time of the start of grid periods, in samples (fractional)."""
        return self.rx_time_s(np.asarray(periods, np.float64) * PERIOD_S) * self.fs_hz

    def chip_samples(self, period: float) -> float:
        """Received chip length (samples) around grid period ``period``."""
        t = np.array([period * PERIOD_S, period * PERIOD_S + CHIP_S])
        a, b = self.rx_time_s(t)
        return float((b - a) * self.fs_hz)

    def carrier_offset_hz(self, rx_time_s: np.ndarray) -> np.ndarray:
        """Residual carrier offset (Hz) at receiver time ``rx_time_s`` (s)."""
        ch = self.channel
        return ch.carrier_offset_hz + ch.carrier_rate_hz_per_s * np.asarray(rx_time_s)

    # ------------------------------------------------------------------ content

    def _segment_content(
        self, segment: _Segment, local: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Kind and grey level of local periods ``local`` of an image segment."""
        item = segment.item
        assert isinstance(item, ImageTransmission)
        header = item.header
        kinds = np.full(local.shape, PeriodKind.DATA, np.int64)
        grey = np.zeros(local.shape, np.int64)
        pre = local < PREAMBLE_PERIODS
        r = local[pre] % HEADER_COPY_PERIODS
        kinds[pre] = np.where(r == 0, PeriodKind.FRAME_MARKER, PeriodKind.DATA)
        grey[pre] = header.pack()[np.maximum(r - 1, 0)]
        q = local[~pre] - PREAMBLE_PERIODS
        slot, r = np.divmod(q, header.line_periods)
        line = segment.sent_lines[slot]
        prefix = line_prefix(line)
        line_kind = np.where(r == 0, PeriodKind.LINE_MARKER, PeriodKind.DATA)
        line_kind[segment.faded[slot]] = PeriodKind.SILENT
        image = np.asarray(item.image)
        pixel = np.clip(r - LINE_PREFIX_PERIODS, 0, header.pixels - 1)
        in_prefix = (r >= 1) & (r < LINE_PREFIX_PERIODS)
        line_grey = np.where(
            in_prefix,
            prefix[np.arange(r.size), np.clip(r - 1, 0, LINE_PREFIX_PERIODS - 2)],
            image[line, pixel],
        )
        kinds[~pre] = line_kind
        grey[~pre] = line_grey
        return kinds, grey

    def _pulses(self, p_lo: int, p_hi: int) -> tuple[np.ndarray, np.ndarray]:
        """Grid period and chip of every pulse in periods ``[p_lo, p_hi)``."""
        periods_out, chips_out = [], []
        line_chips = np.array(LINE_MARKER_CHIPS)
        frame_chips = np.array(FRAME_MARKER_CHIPS)
        for segment in self.segments:
            if not isinstance(segment.item, ImageTransmission):
                continue
            lo = max(p_lo, segment.first_period)
            hi = min(p_hi, segment.first_period + segment.item.n_periods)
            if lo >= hi:
                continue
            periods = np.arange(lo, hi)
            kinds, grey = self._segment_content(segment, periods - segment.first_period)
            chips = np.full((periods.size, 4), _NO_PULSE, np.int64)
            data = kinds == PeriodKind.DATA
            chips[data, 0] = slot_chip(grey[data])
            chips[kinds == PeriodKind.LINE_MARKER] = line_chips
            chips[kinds == PeriodKind.FRAME_MARKER] = frame_chips
            has = chips != _NO_PULSE
            periods_out.append(np.broadcast_to(periods[:, None], chips.shape)[has])
            chips_out.append(chips[has])
        if not periods_out:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return np.concatenate(periods_out), np.concatenate(chips_out)

    def pixel_periods(self, image_index: int) -> tuple[np.ndarray, np.ndarray]:
        """Grid periods of the pixels of the ``image_index``-th image transmission.

        Returns (line numbers sent, periods of shape (lines sent, pixels)).
        """
        segments = [s for s in self.segments if isinstance(s.item, ImageTransmission)]
        segment = segments[image_index]
        header = segment.item.header
        slots = np.arange(segment.sent_lines.size)
        periods = (
            segment.first_period
            + PREAMBLE_PERIODS
            + slots[:, None] * header.line_periods
            + LINE_PREFIX_PERIODS
            + np.arange(header.pixels)[None, :]
        )
        return segment.sent_lines, periods

    def samples(self, rng: np.random.Generator) -> np.ndarray:
        """The whole recording in memory (for short signals: tests, fixtures)."""
        return np.concatenate([*self.chunks(rng), np.zeros(0, np.complex64)])

    def truth(self) -> dict[str, Any]:
        """What was sent, for tests and ``NAME.truth.json``: images, gaps, channel, timing."""
        ch = self.channel
        images = []
        for segment in self.segments:
            item = segment.item
            if not isinstance(item, ImageTransmission):
                continue
            header = item.header
            first, count = segment.first_period, item.n_periods
            start, stop = self.period_start_samples(np.array([first, first + count]))
            received = segment.sent_lines[~segment.faded]
            expected_missing = sorted(
                set(range(header.lines)) - set(received.tolist())
                if header.mode == 0
                else set(segment.sent_lines[segment.faded].tolist())
            )
            images.append(
                {
                    "image_id": item.image_id,
                    "lines": header.lines,
                    "pixels": header.pixels,
                    "mode": header.mode,
                    "first_period": first,
                    "n_periods": count,
                    "sample_start": math.floor(start),
                    "sample_count": int(math.ceil(stop) - math.floor(start)),
                    "sent_lines": segment.sent_lines.tolist(),
                    "faded_lines": sorted(int(v) for v in segment.sent_lines[segment.faded]),
                    "lines_missing": expected_missing,
                    "grey": np.asarray(item.image).astype(int).tolist(),
                }
            )
        return {
            "fs_hz": self.fs_hz,
            "n_samples": self.n_samples,
            "total_periods": self.total_periods,
            "lead_s": self.lead_s,
            "tail_s": self.tail_s,
            "channel": {
                "clock_ppm": ch.clock_ppm,
                "drift_ppm_per_hour": ch.drift_ppm_per_hour,
                "doppler_v_over_c": ch.doppler_v_over_c,
                "carrier_offset_hz": ch.carrier_offset_hz,
                "carrier_rate_hz_per_s": ch.carrier_rate_hz_per_s,
                "esn0_db": ch.esn0_db,
                "random_phase": ch.random_phase,
                "amplitude": ch.amplitude,
            },
            "images": images,
        }

    # ------------------------------------------------------------------ samples

    def chunks(
        self, rng: np.random.Generator, chunk_samples: int = DEFAULT_CHUNK_SAMPLES
    ) -> Iterator[np.ndarray]:
        """Yield the recording as complex64 chunks of ``chunk_samples`` (last one shorter).

        Parameters
        ----------
        rng : numpy.random.Generator
            Source of the pulse phases and the noise.
        chunk_samples : int
            Samples per chunk; the output for a given ``rng`` seed depends on it.
        """
        if chunk_samples < 1:
            raise ConfigError("chunk_samples must be positive")
        fs = self.fs_hz
        tail_room = math.ceil(CHIP_S * fs * 1.001) + 2
        carry = np.zeros(tail_room, np.complex128)
        sigma = self.channel.noise_sigma(fs)
        for s0 in range(0, self.n_samples, chunk_samples):
            n = min(chunk_samples, self.n_samples - s0)
            buf = np.zeros(n + tail_room, np.complex128)
            buf[:tail_room] += carry
            self._add_pulses(buf, s0, n, rng)
            carry = buf[n:].copy()
            out = buf[:n].astype(np.complex64)
            if sigma > 0:
                noise = rng.standard_normal((n, 2), dtype=np.float32)
                noise *= np.float32(sigma / math.sqrt(2.0))
                out += noise.view(np.complex64)[:, 0]
            yield out

    def _add_pulses(self, buf: np.ndarray, s0: int, n: int, rng: np.random.Generator) -> None:
        """Add the pulses whose first sample is in ``[s0, s0 + n)`` into ``buf`` (offset s0)."""
        fs = self.fs_hz
        u = self.tx_time_s(np.array([s0 / fs, (s0 + n) / fs]))
        p_lo = max(math.floor(u[0] / PERIOD_S) - 1, 0)
        p_hi = min(math.ceil(u[1] / PERIOD_S) + 1, self.total_periods)
        if p_lo >= p_hi:
            return
        periods, chips = self._pulses(p_lo, p_hi)
        tx_start = (periods * PERIOD_CHIPS + chips) * CHIP_S
        a = self.rx_time_s(tx_start) * fs  # pulse edges in samples
        b = self.rx_time_s(tx_start + CHIP_S) * fs
        first = np.floor(a).astype(np.int64)
        keep = (first >= s0) & (first < s0 + n)
        if not np.any(keep):
            return
        a, b, first = a[keep], b[keep], first[keep]
        freq = self.carrier_offset_hz(0.5 * (a + b) / fs)  # constant within one chip
        if self.channel.random_phase:
            phase = rng.uniform(0.0, 2.0 * np.pi, a.size)
        else:
            t = a / fs
            ch = self.channel
            phase = 2 * np.pi * (ch.carrier_offset_hz * t + 0.5 * ch.carrier_rate_hz_per_s * t * t)
        taps = buf.size - n
        idx = first[:, None] + np.arange(taps)[None, :]  # absolute sample numbers
        lo = np.maximum(idx, a[:, None])
        hi = np.minimum(idx + 1, b[:, None])
        length = np.maximum(hi - lo, 0.0)  # overlap (samples)
        mid = 0.5 * (lo + hi)
        cycles = freq[:, None] / fs  # cycles per sample
        # (1/Ts) ∫ A exp(j(2π f (t - a) + φ)) dt over the overlap, in closed form.
        value = (
            self.channel.amplitude
            * length
            * np.sinc(cycles * length)
            * np.exp(1j * (2 * np.pi * cycles * (mid - a[:, None]) + phase[:, None]))
        )
        np.add.at(buf, (idx - s0).ravel(), value.ravel())


# ---------------------------------------------------------------------- performance


def symbol_error_probability(esn0_db: float | np.ndarray) -> float | np.ndarray:
    """P_s of non-coherent 64-ary orthogonal PPM with known timing (ICD §3).

    Computed as ∫ p_Rice(r) · [1 − (1 − exp(−r²/2))^63] dr, which equals the ICD's
    1 − ∫ r·exp(−(r² + 2γ)/2)·I0(r√(2γ))·(1 − exp(−r²/2))^63 dr but keeps full relative
    precision at small P_s (no cancellation against 1). I0 is taken exponentially scaled.

    Parameters
    ----------
    esn0_db : float or array
        Es/N0 per pulse (dB).
    """
    from scipy import integrate, special  # the theory's: not for making signals (0.2 s)

    def one(db: float) -> float:
        gamma = 10.0 ** (db / 10.0)
        nu = math.sqrt(2.0 * gamma)

        def integrand(r: float) -> float:
            rice = r * math.exp(-0.5 * (r - nu) ** 2) * special.i0e(r * nu)
            q = math.exp(-0.5 * r * r)
            return rice * -math.expm1((N_LEVELS - 1) * math.log1p(-q)) if q < 1 else rice

        upper = nu + 40.0
        value, _ = integrate.quad(
            integrand,
            0.0,
            upper,
            points=[max(nu - 3, 0.0), nu],
            limit=400,
            epsabs=0.0,
            epsrel=1e-10,
        )
        return value

    values = np.vectorize(one, otypes=[float])(np.asarray(esn0_db, dtype=float))
    return float(values) if values.ndim == 0 else values


def esn0_db_for_ser(ser: float) -> float:
    """Es/N0 (dB) at which :func:`symbol_error_probability` equals ``ser`` (0 < ser < 0.9)."""
    if not 0.0 < ser < 0.9:
        raise ConfigError(f"symbol error rate {ser} is outside (0, 0.9)")
    from scipy import optimize

    return float(
        optimize.brentq(lambda db: math.log(symbol_error_probability(db)) - math.log(ser), -5, 30)
    )
