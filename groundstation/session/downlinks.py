"""Downlinks to recordings: a :class:`signals.spacecraft.downlinks.Downlink` as a SigMF file.

The spacecraft side (:mod:`signals.spacecraft.downlinks`) makes the samples and the truth;
this module writes them chunk by chunk (atomically, :class:`groundstation.io.recording.
RecordingWriter`), with the band, the station's tuning, the bit rate and the coherent
mode in the metadata (ICD §2, §6). ``contact``, ``mission`` and ``synth`` write through it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from groundstation.io.writer import write_recording
from groundstation.outputs.carrier import MODE_KEY, UPLINK_KEY
from groundstation.progress import progress
from signals.spacecraft.downlinks import Downlink


def write_downlink(
    base: Path | str, downlink: Downlink, *, show_progress: bool = False, sync: bool = True
) -> Path:
    """Write ``downlink`` as the recording ``base``; return its ``.sigmf-meta`` path.

    Parameters
    ----------
    base : path
        Recording name NAME (writes NAME.sigmf-meta and NAME.sigmf-data).
    downlink : Downlink
        The band's transmission; its chunks are generated as they are written.
    show_progress : bool
        Draw a progress bar on a terminal.
    sync : bool
        Force the samples to disk (default); False for a scratch recording that the session
        reads back and deletes (:class:`groundstation.io.writer.RecordingWriter`).
    """
    extra: dict[str, object] = {}
    if downlink.coherent_mode is not None:
        extra[MODE_KEY] = downlink.coherent_mode
    if downlink.uplink_hz is not None:
        extra[UPLINK_KEY] = downlink.uplink_hz

    def counted() -> Iterator[np.ndarray]:
        with progress(downlink.n_samples, downlink.band_id, enabled=show_progress) as bar:
            for chunk in downlink.chunks():
                bar.update(chunk.size)
                yield chunk

    meta = write_recording(
        base,
        counted(),
        fs_hz=downlink.fs_hz,
        band=downlink.band_id,
        start_utc=downlink.start_utc,
        center_frequency_hz=downlink.tuned_hz,
        bit_rate_bps=downlink.bit_rate_bps,
        extra_global=extra or None,
        description=downlink.description,
        sync=sync,
    )
    return Path(meta)
