"""What surrounds the probe, as functions of where it is: the space environment model.

In: where the probe is (distance from the Earth's centre km, altitude km, distance from the
Sun AU, the sine of its magnetic latitude) and when (s after launch). Out: what its science
instruments would see there, before the spacecraft's own noise and quantisation: the
micrometeoroid flux (:func:`meteoroid_flux_per_m2_s`), the interplanetary field
(:func:`parker_field_nt`), the Earth's tilted dipole (:func:`dipole_axis`, :func:`l_shell`)
and the radiation belts' counting rates (:func:`belt_rates_cps`); :func:`poisson_quantile`
turns uniform draws into Poisson counts. The flight's state model
(:class:`signals.spacecraft.flight.FlightModel`) puts these together channel by channel.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
from scipy import special

from signals.constants import AU_KM, EARTH_RADIUS_KM

METEOROID_ZONES_ALTITUDE_KM: Final[tuple[tuple[float, float], ...]] = (
    (6_000.0, 40_000.0),
    (20.0e6, 40.0e6),
)
"""Altitude ranges of the documented micrometeoroid streams."""
METEOROID_SENSOR_AREA_M2: Final[float] = 0.1
"""Sensitive area of the micrometeoroid detector (assumption)."""
METEOROID_ZONE_FLUX_PER_M2_S: Final[float] = 1.0 / 120.0 / METEOROID_SENSOR_AREA_M2
"""Flux in the documented zones: one hit per two minutes on the sensor (ICD §1)."""
METEOROID_SPORADIC_FLUX_PER_M2_S: Final[float] = 1.0 / 86400.0 / METEOROID_SENSOR_AREA_M2
"""Sporadic flux at 1 AU: one hit a day on the sensor (emulator definition)."""
METEOROID_SPORADIC_EXPONENT: Final[float] = -1.3
"""The sporadic flux falls as r_sun ** -1.3 (interplanetary dust, Grün et al. 1985)."""
METEOROID_ZONE_RATE_PER_S: Final[float] = METEOROID_ZONE_FLUX_PER_M2_S * METEOROID_SENSOR_AREA_M2
METEOROID_BACKGROUND_RATE_PER_S: Final[float] = (
    METEOROID_SPORADIC_FLUX_PER_M2_S * METEOROID_SENSOR_AREA_M2
)

IMF_1AU_NT: Final[float] = 4.0
"""Interplanetary field at 1 AU (emulator definition, within the documented 3–4 nT)."""
SOLAR_WIND_KM_S: Final[float] = 400.0
SUN_ROTATION_RAD_S: Final[float] = 2.0 * np.pi / (25.38 * 86400.0)
"""The Sun's sidereal rotation rate (25.38 d)."""
SECTOR_S: Final[float] = 27.2753 * 86400.0 / 4.0
"""Duration of one magnetic sector: four per synodic solar rotation."""
DIPOLE_POLE_LAT_DEG: Final[float] = 78.6
DIPOLE_POLE_LON_DEG: Final[float] = 290.0
"""Geomagnetic north pole, epoch 1960 (IGRF)."""


def meteoroid_flux_per_m2_s(altitude_km: np.ndarray, sun_au: np.ndarray) -> np.ndarray:
    """Micrometeoroid flux (1/m²/s): the documented zones' flux within
    :data:`METEOROID_ZONES_ALTITUDE_KM`, else the sporadic flux falling with the Sun
    distance (AU, taken as at most 10)."""
    in_zone = np.zeros(np.shape(altitude_km), dtype=bool)
    for low_km, high_km in METEOROID_ZONES_ALTITUDE_KM:
        in_zone |= (altitude_km >= low_km) & (altitude_km <= high_km)
    sporadic = (
        METEOROID_SPORADIC_FLUX_PER_M2_S * np.minimum(sun_au, 10.0) ** METEOROID_SPORADIC_EXPONENT
    )
    return np.where(in_zone, METEOROID_ZONE_FLUX_PER_M2_S, sporadic)


def l_shell(distance_km: np.ndarray, sin_latitude: np.ndarray) -> np.ndarray:
    """McIlwain L of the dipole: r / (R_E cos² λ), from the distance from the Earth's
    centre (km) and the sine of the magnetic latitude λ."""
    cos2 = np.maximum(1.0 - sin_latitude**2, 1e-6)
    return distance_km / EARTH_RADIUS_KM / cos2


def belt_rates_cps(
    distance_km: np.ndarray, sin_latitude: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Expected (gas-discharge, scintillation) counting rates (counts/s).

    Cosmic rays plus an inner (L 1.6) and an outer (L 4.0) belt, each a Gaussian in L; off
    the magnetic equator the trapped flux falls as (B_eq / B)^½ with
    B / B_eq = √(1 + 3 sin² λ) / cos⁶ λ along the dipole field line (emulator definition).

    Parameters
    ----------
    distance_km : ndarray
        Distance from the Earth's centre (km).
    sin_latitude : ndarray
        Sine of the magnetic latitude λ.
    """
    sin2 = sin_latitude**2
    cos2 = np.maximum(1.0 - sin2, 1e-6)
    shell = l_shell(distance_km, sin_latitude)
    off_equator = (cos2**3 / np.sqrt(1.0 + 3.0 * sin2)) ** 0.5
    inner = off_equator * np.exp(-0.5 * ((shell - 1.6) / 0.2) ** 2)
    outer = off_equator * np.exp(-0.5 * ((shell - 4.0) / 0.8) ** 2)
    return 2.5 + 1500.0 * inner + 3000.0 * outer, 15.0 + 3000.0 * inner + 9000.0 * outer


def dipole_axis(t_s: np.ndarray) -> np.ndarray:
    """Unit vector of the Earth's dipole (north geomagnetic pole), ICRF, shape (n, 3).

    The pole turns with the Earth: its right ascension is the Greenwich mean sidereal time
    plus its east longitude (UT1 taken as UTC, precession ignored: well under a degree).
    """
    jd = 2437970.176574 + np.asarray(t_s, dtype=float) / 86400.0  # launch = JD 2437970.1766
    gmst_deg = 280.46061837 + 360.98564736629 * (jd - 2451545.0)
    ra = np.radians(gmst_deg + DIPOLE_POLE_LON_DEG)
    colat = np.radians(90.0 - DIPOLE_POLE_LAT_DEG)
    return np.stack(
        [np.sin(colat) * np.cos(ra), np.sin(colat) * np.sin(ra), np.full(ra.shape, np.cos(colat))],
        axis=-1,
    )


def parker_field_nt(sun_au: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parker-spiral field (nT): radial and azimuthal components, :data:`IMF_1AU_NT` at 1 AU.

    >>> b_r, b_phi = parker_field_nt(np.array([1.0]))
    >>> round(float(np.hypot(b_r, b_phi)[0]), 6)
    4.0
    """
    r = np.asarray(sun_au, dtype=float)
    k = SUN_ROTATION_RAD_S * AU_KM / SOLAR_WIND_KM_S
    b_r = IMF_1AU_NT / np.sqrt(1.0 + k**2) / r**2
    return b_r, -b_r * k * r


def poisson_quantile(u: np.ndarray, mean: npt.ArrayLike) -> np.ndarray:
    """Smallest count k with P(K ≤ k) ≥ u for K ~ Poisson(mean): the inverse CDF.

    Parameters
    ----------
    u : numpy.ndarray
        Probabilities in (0, 1).
    mean : float or array_like
        Poisson means (counts per interval), broadcast against ``u``.

    Returns
    -------
    numpy.ndarray
        The counts, as floats. The continuous inverse of the regularised incomplete gamma
        function (``pdtrik``) lands within one count of the answer; the CDF one count
        lower decides between the two (what ``scipy.stats.poisson.ppf`` computes, without
        importing ``scipy.stats``).
    """
    upper = np.ceil(special.pdtrik(u, mean))
    lower = np.maximum(upper - 1, 0)
    return np.where(special.pdtr(lower, mean) >= u, lower, upper)
