"""The Mars 1 state model: every engineering and science channel of ICD §4 over the flight.

The model follows the documented flight (ICD §1): launch 1962-11-01 16:14:16 UTC, one
nitrogen bottle of the attitude-control system found empty right after the Blok L engine
cutoff (a leaking valve), Sun–star orientation kept on the other bottle until the backup
gyroscopes were engaged on 6–7 Nov 1962 and its last gas spun the craft up about its
Sun-pointing axis, then a spin about the Sun axis for the rest of the flight, with the
1.7 m dish no longer pointable at Earth. The "nominal"
scenario is the flight as planned: no leak, Sun–star orientation kept, dish pointed.

Each channel, in the engineering units of ICD §4:

==================== ==========================================================================
channel              model
==================== ==========================================================================
onboard_time_min     whole minutes since launch
n2_pressure_a_mpa    bottle A: 15.0 MPa until the engine cutoff (the trajectory's burn), then
                     emptied through the leaking valve (τ 5 min): 0 within the hour
                     (nominal: −0.01 MPa/day of normal use)
n2_pressure_b_mpa    bottle B: 15.0 MPa, −0.25 MPa/day holding Sun–star orientation alone
                     from Sun acquisition, then spent linearly by the gyro-mode spin-up over
                     6 Nov, 0 from 7 Nov 00:00 UTC (nominal: −0.008 MPa/day)
battery_v            27.0 V + 0.25 Ω-equivalent × battery current, within 24–29 V, ±0.05 V noise
battery_a            solar-array current − 2.2 A bus load (positive = charging), ±0.05 A noise
solar_array_a        5.5 A × (1 AU / r_sun)² when Sun-lit (after Sun acquisition), ±0.03 A noise
temp_orbital_c       thermally controlled: 20 °C + 6 °C × ((1 AU / r_sun)² − 1), ±0.3 °C noise
temp_experiment_c    288 K × (1 AU / r_sun)^0.25 − 273.15, ±0.5 °C noise
temp_radiator_c      283 K × (1 AU / r_sun)^0.5 − 273.15, ±0.5 °C noise
attitude_mode        3 uncontrolled until Sun acquisition at launch + 2 h, 0 Sun–star until
                     6 Nov 00:00, 1 gyro on 6 Nov, 2 spin about the Sun axis from 7 Nov 00:00
                     (nominal: 0 from Sun acquisition on)
command_count        0 (the spacecraft's command state machine overrides it)
last_command         0 (overridden likewise)
tx_state             bit0 (1.6 m on) + bit4 when the dish is pointed at Earth
mag_x_nt, mag_y_nt,  Parker-spiral interplanetary field, 4.0 nT at 1 AU falling with the Sun
mag_z_nt             distance r as (1/r²)·√(1 + (Ωr/V)²) (V 400 km/s, Ω the Sun's rotation),
                     its polarity flipping every 6.8 d (four sectors), ±10 % slow variation,
                     disturbance events every ~4 days peaking at 6–9 nT × the same falloff
                     (Gaussian, σ 1–3 h); body axes z to the Sun, x to ecliptic north, y
                     along the spiral's azimuth; from 7 Nov the craft spins about z (period
                     SPIN_PERIOD_S, spun up over 6 Nov) and x, y turn with it; Earth's dipole
                     (31,000 nT × (R_E/r)³) inside 10 R_E on x; ±0.05 nT noise per component,
                     clipped to the ±40.96 nT telemetry range
micrometeoroid_hits  cumulative count of a Poisson process: flux × sensor area (0.1 m²); flux
                     0.083 /m²/s at 6,000–40,000 km altitude and at 20–40 million km (one hit
                     per two minutes), else a sporadic 1.16·10⁻⁴ /m²/s × r_sun^−1.3
gas_discharge_cps    Poisson counts in 1 s: 2.5 cps cosmic rays + inner belt (L 1.6, 1,500 cps)
                     + outer belt (L 4.0, 3,000 cps), × (B_eq/B)^½ off the magnetic equator;
                     L = r / (R_E cos² λ) of the tilted dipole (pole 78.6° N 290° E), λ the
                     probe's magnetic latitude
scintillation_cps    Poisson counts in 1 s: 15 cps + inner belt 3,000 cps + outer belt 9,000 cps
==================== ==========================================================================

Distances: the distance from Earth's centre and from the Sun come from the mission
trajectory, :func:`signals.path.geometry.get_trajectory` (the one trajectory every command
uses), tabulated once per trajectory and interpolated.

Randomness: all random values come from the generator passed in. At construction the
model draws the micrometeoroid hit times, the magnetic disturbance events and a 64-bit
key; the measurement noise at time t is a fixed function of that key and t, so
``channels_at`` returns the same values whenever it is asked about the same instant.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt
from scipy import special

from signals.constants import AU_KM, EARTH_RADIUS_KM
from signals.errors import ConfigError, SignalsError
from signals.formats import tlm as tlm_format
from signals.formats.tlm import AttitudeMode, TxStateBit
from signals.mission import LAUNCH_UTC, SCENARIOS
from signals.spacecraft.environment import (
    IMF_1AU_NT,
    METEOROID_SENSOR_AREA_M2,
    SECTOR_S,
    belt_rates_cps,
    dipole_axis,
    l_shell,
    meteoroid_flux_per_m2_s,
    parker_field_nt,
    poisson_quantile,
)

if TYPE_CHECKING:
    from signals.path.geometry import Trajectory

LAST_CONTACT_UTC: Final[datetime] = datetime(1963, 3, 21, tzinfo=UTC)
"""Last radio contact, at 106,760,000 km."""

MARS_FLYBY_UTC: Final[datetime] = datetime(1963, 6, 19, tzinfo=UTC)
"""Documented Mars flyby date."""

MODEL_END_UTC: Final[datetime] = datetime(1963, 8, 1, tzinfo=UTC)
"""The state model covers launch up to this instant."""

SUN_ACQUISITION_DELAY_S: Final[float] = 2 * 3600.0
"""Time from launch to the first Sun–star orientation (emulator definition)."""
GYRO_START_UTC: Final[datetime] = datetime(1962, 11, 6, tzinfo=UTC)
SPIN_START_UTC: Final[datetime] = datetime(1962, 11, 7, tzinfo=UTC)
LEAK_TIME_CONSTANT_S: Final[float] = 300.0
"""Time constant of bottle A emptying through the leaking valve after the engine cutoff."""
BOTTLE_B_USE_MPA_PER_DAY: Final[float] = 0.25
"""Bottle B's use while it alone holds Sun–star orientation (emulator definition)."""

SPIN_PERIOD_S: Final[float] = 60.0
"""Spin period about the Sun axis from 7 Nov 1962 (assumption: the record gives no rate)."""
SPIN_ANTENNA_DEPTH: Final[float] = 0.25
"""How much the 1.6 m semi-directional antenna's gain towards Earth swings as the craft spins:
power gain 1 ± 0.25 about its mean (±1 dB; assumption: the record gives no pattern)."""
_MAG_CHANNEL: Final = tlm_format.CHANNEL_BY_NAME["mag_x_nt"]
MAG_RANGE_NT: Final[float] = float(tlm_format.from_raw(_MAG_CHANNEL, _MAG_CHANNEL.raw_max))
"""Largest field component the ICD §4 science frame can carry (8191 × 0.005 nT)."""


#: Every ICD §4 channel the model produces: the format's table, engineering frame first.
CHANNEL_NAMES: Final[tuple[str, ...]] = tlm_format.CHANNEL_NAMES

CHANNEL_MODELS: Final[dict[str, str]] = {
    "onboard_time_min": "whole minutes since launch",
    "n2_pressure_a_mpa": "15 MPa, emptied by the leak right after engine cutoff (τ 5 min)",
    "n2_pressure_b_mpa": "15 MPa, −0.25 MPa/day of orientation, spent by the spin-up on 6 Nov",
    "battery_v": "27 V + 0.25 V/A × battery current, within 24–29 V",
    "battery_a": "solar-array current − 2.2 A load (positive = charging)",
    "solar_array_a": "5.5 A × (1 AU / r_sun)² once Sun-lit",
    "temp_orbital_c": "20 °C + 6 °C × ((1 AU / r_sun)² − 1), thermally controlled",
    "temp_experiment_c": "288 K × (1 AU / r_sun)^0.25",
    "temp_radiator_c": "283 K × (1 AU / r_sun)^0.5",
    "attitude_mode": "uncontrolled → Sun–star (launch + 2 h) → gyro 6 Nov → spin 7 Nov",
    "command_count": "0 without commands (set by the command state machine)",
    "last_command": "0 without commands (set by the command state machine)",
    "tx_state": "1.6 m on, bit4 while the dish is pointed at Earth",
    "mag_x_nt": "x of 3–4 nT field with 6–9 nT events, dipole inside 10 R_E",
    "mag_y_nt": "y of 3–4 nT field with 6–9 nT events, dipole inside 10 R_E",
    "mag_z_nt": "z of 3–4 nT field with 6–9 nT events, dipole inside 10 R_E",
    "micrometeoroid_hits": "Poisson, 1/120 s at 6–40 thousand km and 20–40 million km, else 1/day",
    "gas_discharge_cps": "Poisson 1 s counts: 2.5 cps + belts at L 1.6 and 4.0",
    "scintillation_cps": "Poisson 1 s counts: 15 cps + belts at L 1.6 and 4.0",
}

_SECONDS_PER_DAY: Final[float] = 86400.0

# Noise streams of the counter-based generator (one per noisy quantity).
_STREAM_BATTERY_V: Final[int] = 1
_STREAM_BATTERY_A: Final[int] = 2
_STREAM_SOLAR_A: Final[int] = 3
_STREAM_T_ORB: Final[int] = 4
_STREAM_T_EXP: Final[int] = 5
_STREAM_T_RAD: Final[int] = 6
_STREAM_MAG_SLOW: Final[int] = 7
_STREAM_MAG_DIR_A: Final[int] = 8
_STREAM_MAG_DIR_B: Final[int] = 9
_STREAM_MAG_X: Final[int] = 10
_STREAM_MAG_Y: Final[int] = 11
_STREAM_MAG_Z: Final[int] = 12
_STREAM_GAS: Final[int] = 13
_STREAM_SCINT: Final[int] = 14
_STREAM_P_A: Final[int] = 15
_STREAM_P_B: Final[int] = 16


class FlightTimeError(SignalsError):
    """An instant outside the modelled flight, or one without a time zone."""


def seconds_since_launch(t_utc: datetime) -> float:
    """Seconds from :data:`LAUNCH_UTC` to ``t_utc``.

    Parameters
    ----------
    t_utc : datetime
        A time-zone-aware instant.

    Returns
    -------
    float
        Elapsed time in seconds (negative before launch).
    """
    if t_utc.tzinfo is None:
        raise FlightTimeError(f"time {t_utc.isoformat()} has no time zone; give it in UTC")
    return (t_utc - LAUNCH_UTC).total_seconds()


def utc_after_launch(t_s: float) -> datetime:
    """The UTC instant ``t_s`` seconds after launch."""
    return LAUNCH_UTC + timedelta(seconds=float(t_s))


def _mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser over a uint64 array (wrapping arithmetic)."""
    z = x + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _grid_s() -> np.ndarray:
    """Instants (s after launch) at which the distances are tabulated: every 60 s for the
    first two days, then every 6 h to the end of the model (about 1,000 instants)."""
    end_s = (MODEL_END_UTC - LAUNCH_UTC).total_seconds()
    return np.concatenate(
        [
            np.arange(0.0, 2 * _SECONDS_PER_DAY, 60.0),
            np.arange(2 * _SECONDS_PER_DAY, end_s + 6 * 3600.0, 6 * 3600.0),
        ]
    )


@functools.cache
def _tabulated_positions(trajectory: Trajectory) -> tuple[np.ndarray, np.ndarray]:
    """The probe's geocentric and heliocentric positions (km, ICRF) along ``trajectory`` at the
    instants of :func:`_grid_s`, computed once per trajectory in one vectorised call
    (:meth:`~signals.path.geometry.Trajectory.positions`); the tables below come from them."""
    launch = np.datetime64(LAUNCH_UTC.replace(tzinfo=None), "us")
    instants = launch + np.round(_grid_s() * 1e6).astype("timedelta64[us]")
    return trajectory.positions(instants)


@functools.cache
def _tabulated_distances(trajectory: Trajectory) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(grid s, distance from Earth's centre km, Sun distance AU) along ``trajectory``.

    Computed once per trajectory (:func:`_tabulated_positions`; as
    :class:`~signals.path.geometry.ProbeState` computes them) and shared by every model built
    on it; the arrays are read-only.
    """
    grid_s = _grid_s()
    geocentric_km, heliocentric_km = _tabulated_positions(trajectory)
    distance_km = np.linalg.norm(geocentric_km, axis=1)
    sun_au = np.linalg.norm(heliocentric_km, axis=1) / AU_KM
    for what, values in (("distance from Earth", distance_km), ("Sun distance", sun_au)):
        if values.shape != grid_s.shape or not np.all(np.isfinite(values) & (values > 0)):
            raise ConfigError(f"the trajectory gave a non-positive or non-finite {what}")
    for array in (grid_s, distance_km, sun_au):
        array.setflags(write=False)
    return grid_s, distance_km, sun_au


@functools.cache
def _tabulated_directions(trajectory: Trajectory) -> np.ndarray:
    """Unit vectors Earth → probe (ICRF), shape (n, 3), on the grid of :func:`_grid_s`."""
    p = _tabulated_positions(trajectory)[0]
    units = p / np.linalg.norm(p, axis=1)[:, None]
    units.setflags(write=False)
    return units


class FlightModel:
    """The spacecraft's state over the flight, channel by channel (ICD §4).

    Parameters
    ----------
    scenario : str
        ``"historical"`` (the real flight: leak, gyro mode, spin, dish lost) or
        ``"nominal"`` (as planned: no leak, Sun–star orientation kept, dish pointed).
    rng : numpy.random.Generator, optional
        Source of every random value. Defaults to ``np.random.default_rng(0)``.
    trajectory : signals.path.geometry.Trajectory, optional
        Where the distances from Earth and from the Sun come from. Default
        :func:`signals.path.geometry.get_trajectory` of the scenario (the nominal one has
        the planned midcourse correction).

    Raises
    ------
    ConfigError
        Unknown scenario.
    """

    def __init__(
        self,
        scenario: str = "historical",
        rng: np.random.Generator | None = None,
        trajectory: Trajectory | None = None,
    ) -> None:
        if scenario not in SCENARIOS:
            raise ConfigError(
                f"unknown flight scenario {scenario!r}; expected one of {', '.join(SCENARIOS)}"
            )
        from signals.path.geometry import get_trajectory  # here: the ephemeris loads when used

        self.scenario: str = scenario
        rng = np.random.default_rng(0) if rng is None else rng
        self._end_s: float = (MODEL_END_UTC - LAUNCH_UTC).total_seconds()
        trajectory = get_trajectory(scenario) if trajectory is None else trajectory
        self._grid_s, self._distance_grid_km, self._sun_grid_au = _tabulated_distances(trajectory)
        self._direction_grid = _tabulated_directions(trajectory)
        #: Engine cutoff (s after launch): the trajectory's impulsive Blok L burn.
        self.engine_cutoff_s: float = float(trajectory.injection.coast_s)
        self._key = np.uint64(rng.integers(0, 2**63, dtype=np.int64))
        self._hit_times_s = self._draw_hit_times(rng)
        self._mag_events = self._draw_mag_events(rng)

    def _draw_hit_times(self, rng: np.random.Generator) -> np.ndarray:
        """Micrometeoroid hit times (s after launch): inhomogeneous Poisson by inversion."""
        grid_s = np.concatenate(
            [
                np.arange(0.0, 2 * _SECONDS_PER_DAY, 5.0),
                np.arange(2 * _SECONDS_PER_DAY, self._end_s + 600.0, 600.0),
            ]
        )
        rate = self.meteoroid_rate_per_s(grid_s)
        cumulative = np.concatenate(
            [[0.0], np.cumsum(0.5 * (rate[1:] + rate[:-1]) * np.diff(grid_s))]
        )
        n_hits = rng.poisson(cumulative[-1])
        levels = np.sort(rng.uniform(0.0, cumulative[-1], n_hits))
        return np.interp(levels, cumulative, grid_s)

    def _draw_mag_events(self, rng: np.random.Generator) -> np.ndarray:
        """Interplanetary disturbance events: rows of (centre s, peak nT, sigma s)."""
        mean_gap_s = 4 * _SECONDS_PER_DAY
        n = rng.poisson(self._end_s / mean_gap_s)
        centres = np.sort(rng.uniform(0.0, self._end_s, n))
        peaks = rng.uniform(6.0, 9.0, n)
        sigmas = rng.uniform(3600.0, 3 * 3600.0, n)
        return np.stack([centres, peaks, sigmas], axis=1)

    # ------------------------------------------------------------- helpers

    def _check_times(self, t_s: np.ndarray) -> None:
        if t_s.size and (np.min(t_s) < 0 or np.max(t_s) > self._end_s):
            raise FlightTimeError(
                f"time outside the modelled flight ({LAUNCH_UTC.isoformat()} to "
                f"{MODEL_END_UTC.isoformat()}): {np.min(t_s):.0f}–{np.max(t_s):.0f} s "
                "after launch"
            )

    def _uniform(self, stream: int, index: np.ndarray) -> np.ndarray:
        """Uniform values in (0, 1), a fixed function of (key, stream, index)."""
        idx = np.atleast_1d(np.asarray(index, dtype=np.int64)).astype(np.uint64)
        offset = np.uint64((stream * 0x632BE59BD9B4E019) % 2**64)
        h = _mix64(_mix64(idx + offset) ^ self._key)
        return ((h >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53

    def _normal(self, stream: int, index: np.ndarray) -> np.ndarray:
        return special.ndtri(self._uniform(stream, index))

    def _noise_per_s(self, stream: int, t_s: np.ndarray, sigma: float) -> np.ndarray:
        return sigma * self._normal(stream, np.floor(t_s))

    def _smooth(self, stream: int, t_s: np.ndarray, knot_s: float) -> np.ndarray:
        """Unit-variance-at-knots Gaussian process, linearly interpolated between knots."""
        k = np.floor(t_s / knot_s)
        frac = t_s / knot_s - k
        return (1.0 - frac) * self._normal(stream, k) + frac * self._normal(stream, k + 1)

    # ------------------------------------------------------------- geometry

    def distance_km_s(self, t_s: npt.ArrayLike) -> np.ndarray:
        """Distance from Earth's centre (km) at ``t_s`` seconds after launch."""
        return np.interp(np.asarray(t_s, dtype=np.float64), self._grid_s, self._distance_grid_km)

    def altitude_km_s(self, t_s: npt.ArrayLike) -> np.ndarray:
        """Height above Earth's equatorial radius (km) at ``t_s`` seconds after launch."""
        return self.distance_km_s(t_s) - EARTH_RADIUS_KM

    def sun_distance_au_s(self, t_s: npt.ArrayLike) -> np.ndarray:
        """Distance from the Sun (AU) at ``t_s`` seconds after launch."""
        return np.interp(np.asarray(t_s, dtype=np.float64), self._grid_s, self._sun_grid_au)

    def meteoroid_rate_per_s(self, t_s: npt.ArrayLike) -> np.ndarray:
        """Expected micrometeoroid hit rate (1/s): flux × the sensor's area."""
        flux = meteoroid_flux_per_m2_s(self.altitude_km_s(t_s), self.sun_distance_au_s(t_s))
        return flux * METEOROID_SENSOR_AREA_M2

    def magnetic_latitude_sin_s(self, t_s: npt.ArrayLike) -> np.ndarray:
        """Sine of the probe's magnetic latitude (tilted dipole) at ``t_s``."""
        t = np.asarray(t_s, dtype=np.float64)
        units = np.stack(
            [np.interp(t, self._grid_s, self._direction_grid[:, i]) for i in range(3)], axis=-1
        )
        units /= np.linalg.norm(units, axis=-1, keepdims=True)
        return np.einsum("...i,...i->...", units, dipole_axis(t))

    def l_shell_s(self, t_s: npt.ArrayLike) -> np.ndarray:
        """McIlwain L of the tilted dipole at ``t_s``: r / (R_E cos² λ), λ magnetic latitude."""
        return l_shell(self.distance_km_s(t_s), self.magnetic_latitude_sin_s(t_s))

    def spin_phase_rad_s(self, t_s: npt.ArrayLike) -> np.ndarray:
        """Spin angle about the Sun axis (rad): 0 until 6 Nov, spun up over 6 Nov, then
        one turn every :data:`SPIN_PERIOD_S` (historical; the nominal craft never spins)."""
        t = np.asarray(t_s, dtype=np.float64)
        if self.scenario != "historical":
            return np.zeros(t.shape)
        gyro_s = seconds_since_launch(GYRO_START_UTC)
        spin_s = seconds_since_launch(SPIN_START_UTC)
        omega = 2.0 * np.pi / SPIN_PERIOD_S
        ramp = np.clip(t - gyro_s, 0.0, spin_s - gyro_s)
        return omega * (ramp**2 / (2.0 * (spin_s - gyro_s)) + np.maximum(t - spin_s, 0.0))

    def antenna_power_gain_s(self, t_s: npt.ArrayLike) -> np.ndarray:
        """Power gain of the 1.6 m antenna towards Earth relative to its mean (1 = the link
        budget's G_t) at ``t_s`` seconds since launch: 1 + :data:`SPIN_ANTENNA_DEPTH` · sin of
        the spin angle, so exactly 1 until the spin-up and swinging once per turn after it."""
        return 1.0 + SPIN_ANTENNA_DEPTH * np.sin(self.spin_phase_rad_s(t_s))

    # ------------------------------------------------------------- attitude

    def attitude_mode_s(self, t_s: npt.ArrayLike) -> np.ndarray:
        """Attitude mode code (ICD §4 word 16) at ``t_s`` seconds after launch."""
        t = np.asarray(t_s, dtype=np.float64)
        mode = np.full(t.shape, AttitudeMode.SUN_STAR, dtype=np.int64)
        mode[t < SUN_ACQUISITION_DELAY_S] = AttitudeMode.UNCONTROLLED
        if self.scenario == "historical":
            gyro_s = seconds_since_launch(GYRO_START_UTC)
            spin_s = seconds_since_launch(SPIN_START_UTC)
            mode[(t >= gyro_s) & (t < spin_s)] = AttitudeMode.GYRO
            mode[t >= spin_s] = AttitudeMode.SPIN_SUN_AXIS
        return mode

    def dish_pointed_s(self, t_s: npt.ArrayLike) -> np.ndarray:
        """Whether the dish can be pointed at Earth (Sun–star orientation held)."""
        return self.attitude_mode_s(t_s) == AttitudeMode.SUN_STAR

    def attitude_mode_at(self, t_utc: datetime) -> int:
        """Attitude mode code (ICD §4 word 16) at ``t_utc``."""
        t_s = np.array([seconds_since_launch(t_utc)])
        self._check_times(t_s)
        return int(self.attitude_mode_s(t_s)[0])

    def dish_pointed_at(self, t_utc: datetime) -> bool:
        """Whether the 1.7 m dish can be pointed at Earth at ``t_utc``."""
        return self.attitude_mode_at(t_utc) == AttitudeMode.SUN_STAR

    # ------------------------------------------------------------- channels

    def _pressures_mpa(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p0_mpa = 15.0
        if self.scenario == "nominal":
            p_a = p0_mpa - 0.010 * t / _SECONDS_PER_DAY
            p_b = p0_mpa - 0.008 * t / _SECONDS_PER_DAY
        else:
            gyro_s = seconds_since_launch(GYRO_START_UTC)
            spin_s = seconds_since_launch(SPIN_START_UTC)
            leak_s = np.maximum(t - self.engine_cutoff_s, 0.0)
            p_a = p0_mpa * np.exp(-leak_s / LEAK_TIME_CONSTANT_S)
            p_a = np.where(p_a < 0.01, 0.0, p_a)
            use_s = np.clip(t, SUN_ACQUISITION_DELAY_S, gyro_s) - SUN_ACQUISITION_DELAY_S
            spin_fraction = np.clip((t - gyro_s) / (spin_s - gyro_s), 0.0, 1.0)
            p_b = (p0_mpa - BOTTLE_B_USE_MPA_PER_DAY * use_s / _SECONDS_PER_DAY) * (
                1.0 - spin_fraction
            )
        noisy_a = p_a + self._noise_per_s(_STREAM_P_A, t, 0.02) * (p_a > 0)
        noisy_b = p_b + self._noise_per_s(_STREAM_P_B, t, 0.02) * (p_b > 0)
        return np.maximum(noisy_a, 0.0), np.maximum(noisy_b, 0.0)

    def field_nt(self, t_s: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The field in the craft's axes (nT, before noise and clipping): x, y, z.

        z points to the Sun, x to ecliptic north and y along the spiral's azimuth while the
        craft is oriented; once it spins about z, x and y turn with it.
        """
        t = np.asarray(t_s, dtype=np.float64)
        sun_au = self.sun_distance_au_s(t)
        b_r, b_phi = parker_field_nt(sun_au)
        polarity = np.where(np.floor(t / SECTOR_S) % 2 == 0, 1.0, -1.0)
        scale = 1.0 + 0.1 * np.tanh(self._smooth(_STREAM_MAG_SLOW, t, 3600.0))
        ambient = np.hypot(b_r, b_phi) * scale
        ev = self._mag_events
        if ev.size:
            shape = np.exp(-0.5 * ((t[..., None] - ev[:, 0]) / ev[:, 2]) ** 2)
            peak = np.max(ev[:, 1] * shape, axis=-1) * np.hypot(b_r, b_phi) / IMF_1AU_NT
            scale = scale * np.maximum(1.0, peak / ambient)
        # A wandering out-of-ecliptic component (the field is never exactly in the spiral).
        north = 0.3 * np.tanh(self._smooth(_STREAM_MAG_DIR_B, t, 6 * 3600.0))
        north = north * np.hypot(b_r, b_phi)
        x = north * scale
        y = polarity * b_phi * scale
        z = -polarity * b_r * scale
        radii = self.distance_km_s(t) / EARTH_RADIUS_KM
        x = x + np.where(radii < 10.0, 31_000.0 / radii**3, 0.0)
        phase = self.spin_phase_rad_s(t)
        c, s = np.cos(phase), np.sin(phase)
        return c * x + s * y, -s * x + c * y, z

    def _field_nt(self, t: np.ndarray) -> tuple[np.ndarray, ...]:
        x, y, z = self.field_nt(t)
        components = (
            x + self._noise_per_s(_STREAM_MAG_X, t, 0.05),
            y + self._noise_per_s(_STREAM_MAG_Y, t, 0.05),
            z + self._noise_per_s(_STREAM_MAG_Z, t, 0.05),
        )
        return tuple(np.clip(c, -MAG_RANGE_NT, MAG_RANGE_NT) for c in components)

    def radiation_rates_cps(self, t_s: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Expected (gas-discharge, scintillation) counting rates (counts/s) at ``t_s``
        (:func:`~signals.spacecraft.environment.belt_rates_cps`)."""
        return belt_rates_cps(self.distance_km_s(t_s), self.magnetic_latitude_sin_s(t_s))

    def channels_s(self, t_s: npt.ArrayLike) -> dict[str, np.ndarray]:
        """Every ICD §4 channel at many instants (vectorised form of :meth:`channels_at`).

        Parameters
        ----------
        t_s : array_like
            Seconds after launch, within the modelled flight.

        Returns
        -------
        dict of str to numpy.ndarray
            One array per channel, by its ICD §4 name, in engineering units.
        """
        t = np.atleast_1d(np.asarray(t_s, dtype=np.float64))
        self._check_times(t)
        sun_au = self.sun_distance_au_s(t)
        mode = self.attitude_mode_s(t)
        flux = 1.0 / sun_au**2
        sunlit = mode != AttitudeMode.UNCONTROLLED
        solar_a = np.maximum(
            np.where(sunlit, 5.5 * flux, 0.0) + self._noise_per_s(_STREAM_SOLAR_A, t, 0.03), 0.0
        )
        battery_a = solar_a - 2.2 + self._noise_per_s(_STREAM_BATTERY_A, t, 0.05)
        battery_v = np.clip(27.0 + 0.25 * battery_a, 24.0, 29.0) + self._noise_per_s(
            _STREAM_BATTERY_V, t, 0.05
        )
        p_a, p_b = self._pressures_mpa(t)
        mag_x, mag_y, mag_z = self._field_nt(t)
        gas_rate, scint_rate = self.radiation_rates_cps(t)
        gas = poisson_quantile(self._uniform(_STREAM_GAS, np.floor(t)), gas_rate)
        scint = poisson_quantile(self._uniform(_STREAM_SCINT, np.floor(t)), scint_rate)
        dish = mode == AttitudeMode.SUN_STAR
        tx_state = (1 << TxStateBit.TX_1_6M) | (dish.astype(np.int64) << TxStateBit.DISH_POINTED)
        return {
            "onboard_time_min": np.floor(t / 60.0).astype(np.int64),
            "n2_pressure_a_mpa": p_a,
            "n2_pressure_b_mpa": p_b,
            "battery_v": battery_v,
            "battery_a": battery_a,
            "solar_array_a": solar_a,
            "temp_orbital_c": 20.0 + 6.0 * (flux - 1.0) + self._noise_per_s(_STREAM_T_ORB, t, 0.3),
            "temp_experiment_c": 288.0 * sun_au**-0.25
            - 273.15
            + self._noise_per_s(_STREAM_T_EXP, t, 0.5),
            "temp_radiator_c": 283.0 * sun_au**-0.5
            - 273.15
            + self._noise_per_s(_STREAM_T_RAD, t, 0.5),
            "attitude_mode": mode,
            "command_count": np.zeros(t.shape, dtype=np.int64),
            "last_command": np.zeros(t.shape, dtype=np.int64),
            "tx_state": tx_state,
            "mag_x_nt": mag_x,
            "mag_y_nt": mag_y,
            "mag_z_nt": mag_z,
            "micrometeoroid_hits": np.searchsorted(self._hit_times_s, t, side="right").astype(
                np.int64
            ),
            "gas_discharge_cps": gas.astype(np.int64),
            "scintillation_cps": scint.astype(np.int64),
        }

    def channels_series(self, times_utc: Sequence[datetime]) -> dict[str, np.ndarray]:
        """Every ICD §4 channel at each of ``times_utc`` (see :meth:`channels_s`)."""
        return self.channels_s(np.array([seconds_since_launch(t) for t in times_utc]))

    def channels_at(self, t_utc: datetime) -> dict[str, float | int]:
        """Every ICD §4 channel at ``t_utc``, by its §4 name, in engineering units.

        Parameters
        ----------
        t_utc : datetime
            A time-zone-aware instant between launch and :data:`MODEL_END_UTC`.

        Returns
        -------
        dict of str to float or int
            Integer channels (time, modes, counts) as ``int``, the rest as ``float``.

        Raises
        ------
        FlightTimeError
            ``t_utc`` is naive or outside the modelled flight.
        """
        series = self.channels_s(np.array([seconds_since_launch(t_utc)]))
        return {
            name: (int(v[0]) if np.issubdtype(v.dtype, np.integer) else float(v[0]))
            for name, v in series.items()
        }

    def meteoroid_hit_times_s(self) -> np.ndarray:
        """All micrometeoroid hit times (s after launch) drawn for this flight."""
        return self._hit_times_s.copy()
