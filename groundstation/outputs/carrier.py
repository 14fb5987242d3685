"""Decode a coherent-carrier recording (ICD §6) into an output folder.

:func:`groundstation.receivers.carrier.measure_recording` reads the recording chunk by
chunk and measures the carrier; the range rate follows from the Doppler:

* one-way (the on-board oscillator, offset unknown within ±1 ppm): ṙ = c·(1 − f_rx/f_tx)
  with f_tx the nominal carrier, ± c·1 ppm (about ±0.3 km/s) from the oscillator;
* two-way (``mars1:coherent_mode`` = ``two-way`` in the metadata, uplink frequency from
  ``mars1:uplink_frequency`` or the band table): ṙ = (c/2)·(1 − f_rx/(4·(6/5)·f_up)).

Outputs, each written atomically: ``summary.json``, ``spectrum.png`` and
``NAME.sigmf-meta`` (the metadata with a ``carrier`` annotation).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Final

from groundstation.errors import DecodeError
from groundstation.io import keys
from groundstation.io.recording import Recording, open_recording
from groundstation.io.writer import write_annotated_metadata
from groundstation.outputs import records
from groundstation.outputs.drawing import draw_png
from groundstation.receivers.carrier import (
    measure_recording,
    one_way_range_rate_bounds,
    range_rate_from_doppler,
)
from groundstation.results import CarrierBandResult
from signals.bands import COHERENT_BANDS, TURNAROUND_RATIO, band
from signals.constants import C_M_S

#: Metadata keys of the coherent mode (``one-way`` / ``two-way``) and the uplink (Hz).
MODE_KEY: Final = keys.COHERENT_MODE
UPLINK_KEY: Final = keys.UPLINK_FREQUENCY


def decode_carrier_to_dir(
    recording: Recording | Path | str, outdir: Path | str | None, *, show_progress: bool = True
) -> CarrierBandResult:
    """Measure the carrier of a coherent-link recording and write the results to ``outdir``.

    Parameters
    ----------
    recording : Recording or path
        An ``8cm-carrier`` (or ``39cm-up``) recording.
    outdir : path or None
        Output folder (created); None writes nothing (a session that keeps no folder).
    show_progress : bool
        Draw a progress bar on a terminal.

    Returns
    -------
    CarrierBandResult
        The measurement, also written to ``summary.json``.

    Raises
    ------
    NoSignalError
        No carrier in the recording.
    DecodeError
        The band carries no coherent carrier, or the recording is too short.
    """
    if not isinstance(recording, Recording):
        recording = open_recording(recording)
    if recording.band not in (*COHERENT_BANDS, "39cm-up"):
        raise DecodeError(f"{recording.name}: band {recording.band} is not a carrier band")
    glob = recording.metadata[keys.GLOBAL]
    mode = glob.get(MODE_KEY, "one-way")
    if mode not in ("one-way", "two-way"):
        raise DecodeError(f"{recording.name}: {MODE_KEY} must be one-way or two-way, not {mode!r}")
    uplink = glob.get(UPLINK_KEY, band("39cm-up").carrier_hz)
    if isinstance(uplink, bool) or not isinstance(uplink, int | float) or not uplink > 0:
        raise DecodeError(f"{recording.name}: {UPLINK_KEY} must be a positive number (Hz)")
    b = band(recording.band)
    m = measure_recording(recording, show_progress=show_progress)
    est = m.estimate
    reference_utc = recording.start_utc + timedelta(seconds=est.reference_time_s)
    c_km_s = C_M_S * 1e-3
    ranges: dict[str, float] = {}
    if recording.band == "39cm-up":
        # Received on board: the station's transmitter is the reference.
        ranges["range_rate_km_s"] = c_km_s * (1.0 - est.frequency_hz / b.carrier_hz)
        ranges["range_rate_std_km_s"] = c_km_s * est.frequency_std_hz / b.carrier_hz
    else:
        ranges["range_rate_one_way_km_s"] = range_rate_from_doppler(
            est.frequency_hz, recording.band
        )
        ranges["range_rate_one_way_uncertainty_km_s"] = one_way_range_rate_bounds(
            est.frequency_hz, recording.band
        )
        if mode == "two-way":
            f_ref = COHERENT_BANDS[recording.band] * float(TURNAROUND_RATIO) * float(uplink)
            ranges["uplink_frequency_hz"] = float(uplink)
            ranges["range_rate_two_way_km_s"] = range_rate_from_doppler(
                est.frequency_hz, recording.band, two_way=True, uplink_hz=float(uplink)
            )
            ranges["range_rate_two_way_std_km_s"] = 0.5 * c_km_s * est.frequency_std_hz / f_ref
        ranges["range_rate_km_s"] = ranges.get(
            "range_rate_two_way_km_s", ranges["range_rate_one_way_km_s"]
        )
    result = CarrierBandResult(
        recording=recording.info(),
        estimate=est,
        nonfinite_samples=m.n_nonfinite,
        decimation=m.decimation,
        reference_utc=reference_utc,
        coherent_mode=mode,
        predicted_range_rate_km_s=_predicted_range_rate(reference_utc),
        spectrum_png="spectrum.png",
        warnings=list(m.warnings),
        **ranges,
    )
    if outdir is None:  # a session that keeps no folder: nothing to write
        return result
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    # drawn now, or by a second process while the files below are written (outputs.drawing)
    draw_png(
        "spectrum",
        outdir / result.spectrum_png,
        m.samples,
        m.fs_hz,
        m.delay_s,
        est,
        f"{recording.name} ({recording.band}, {mode})",
    )
    write_annotated_metadata(
        recording,
        outdir / recording.meta_path.name,
        [records.carrier_annotation(est, recording.fs_hz)],
    )
    records.write_summary(outdir / "summary.json", result)
    return result


def _predicted_range_rate(t_utc) -> float | None:
    """The geometry's range rate at ``t_utc`` (km/s), None outside the flight."""
    from signals.path.geometry import GeometryError, get_trajectory

    try:
        return float(get_trajectory().range_rate_km_s(t_utc))
    except GeometryError:
        return None
