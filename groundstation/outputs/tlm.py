"""Telemetry recording -> output folder (``groundstation decode`` on 32 cm / 1.6 m bands).

Writes, all atomically, into ``OUTDIR``:

- ``telemetry.csv``: one row per frame: ``sample_start``, ``time_utc`` (first bit at the
  receiver, ISO 8601 ``Z``), ``frame_counter``, ``frame_type``, ``parity_ok``, the raw
  words ``w00``…``w31`` (8-bit, parity bits included, polarity corrected), then every
  channel of ICD §4 by name in engineering units (empty where the frame type does not
  carry it); booleans ``true``/``false``;
- ``telemetry.jsonl``: the same, one JSON object per line;
- ``NAME.sigmf-meta``: the recording's metadata with one annotation per frame;
- ``summary.json``: counts and link estimates;
- ``telemetry.png``: the telemetry panels against time (the reports' panels), drawn by
  :func:`groundstation.outputs.drawing.draw_png` (in a second process within
  :func:`~groundstation.outputs.drawing.figures_aside`).

The records are serialised by :mod:`groundstation.outputs.records`; this module decodes,
calls it and draws the plot.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from groundstation.errors import NoSignalError
from groundstation.io.recording import Recording
from groundstation.io.writer import write_annotated_metadata
from groundstation.outputs import records
from groundstation.outputs.drawing import draw_png, expect_figure
from groundstation.outputs.figures import TelemetrySeries, write_telemetry_png
from groundstation.progress import progress
from groundstation.receivers.tlm_decode import decode_tlm_recording
from groundstation.results import DecodedFrame, TelemetryBandResult


def write_telemetry_plot(
    path: Path | str, frames: Sequence[DecodedFrame], *, title: str = "Mars 1 telemetry"
) -> Path:
    """Plot the telemetry panels of the frames against time; write a PNG atomically.

    The panels are the reports' (:func:`groundstation.outputs.figures.telemetry_figure`):
    only frames that pass parity are plotted, each failed one is a tick at its time.
    """
    return write_telemetry_png(path, _series(frames), title)


def _series(frames: Sequence[DecodedFrame]) -> TelemetrySeries:
    return TelemetrySeries.from_frames(
        [f.time_utc for f in frames], [f.channels for f in frames], [f.parity_ok for f in frames]
    )


def decode_tlm_to_dir(
    recording: Recording, outdir: Path | None, *, show_progress: bool = True
) -> TelemetryBandResult:
    """Decode a telemetry recording into ``outdir``; return what was decoded.

    Parameters
    ----------
    recording : Recording
        An opened ``32cm-tlm`` or ``1.6m-tlm`` recording.
    outdir : Path or None
        Output folder (created if needed); None writes nothing (a session that keeps no
        folder).
    show_progress : bool
        Draw a progress bar on a terminal.

    Raises
    ------
    NoSignalError
        No carrier, or a carrier but no frame at all; no file is written then.
    """
    if outdir is not None:
        # its part made ready while the recording is decoded
        expect_figure("telemetry", Path(outdir) / "telemetry.png")
    bar = progress(recording.n_samples, f"{recording.name} telemetry", enabled=show_progress)
    with bar:
        decoded = decode_tlm_recording(recording, progress=bar.update)
    if not decoded.frames:
        raise NoSignalError(f"{recording.name}: {decoded.message}")
    if outdir is None:
        return TelemetryBandResult(recording=recording.info(), decode=decoded, outputs=())
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    result = TelemetryBandResult(
        recording=recording.info(),
        decode=decoded,
        outputs=(
            "telemetry.csv",
            "telemetry.jsonl",
            recording.meta_path.name,
            "telemetry.png",
            "summary.json",
        ),
    )
    title = f"Mars 1 telemetry, {recording.band}, {decoded.bit_rate_bps:g} bit/s"
    # first: drawn now, or by a second process while the files below are written and the
    # page is made ready (outputs.drawing), the plot being the last thing the page waits for
    draw_png("telemetry", outdir / "telemetry.png", _series(decoded.frames), title)
    records.write_telemetry_csv(outdir / "telemetry.csv", decoded.frames)
    records.write_telemetry_jsonl(outdir / "telemetry.jsonl", decoded.frames)
    write_annotated_metadata(
        recording,
        outdir / recording.meta_path.name,
        records.frame_annotations(decoded, recording.center_frequency_hz),
    )
    records.write_summary(outdir / "summary.json", result)
    return result
