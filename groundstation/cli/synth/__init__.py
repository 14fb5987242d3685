"""Runners of ``groundstation synth``, one module per signal chain.

Their options are in :mod:`groundstation.cli.options`. Each module makes the band's
:class:`~signals.spacecraft.downlinks.Downlink` from its options; shared here: writing it
(the recording and its truth beside it, :func:`write_synth`) and where the truth goes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from groundstation.io.recording import base_path

if TYPE_CHECKING:
    from signals.spacecraft.downlinks import Downlink


def truth_path(name: Path | str) -> Path:
    """``NAME.truth.json`` beside the recording ``NAME`` (what was sent, for tests and users)."""
    base = base_path(name)
    return base.with_name(base.name + ".truth.json")


def write_synth(
    name: Path | str,
    downlink: Downlink,
    more_truth: Mapping[str, Any] | None = None,
    *,
    show_progress: bool = False,
) -> Path:
    """Write ``downlink`` as the recording ``NAME`` and its truth as ``NAME.truth.json``.

    Parameters
    ----------
    name : path
        Recording name NAME (writes NAME.sigmf-meta, NAME.sigmf-data, NAME.truth.json).
    downlink : Downlink
        The band's transmission; its samples are generated as they are written.
    more_truth : mapping, optional
        What the truth file holds besides the downlink's own truth (the seed, the source).
    show_progress : bool
        Draw a progress bar on a terminal.

    Returns
    -------
    Path
        The ``.sigmf-meta`` file written.
    """
    from groundstation.io.files import write_json
    from groundstation.session.downlinks import write_downlink

    base = base_path(name)
    meta_path = write_downlink(base, downlink, show_progress=show_progress)
    write_json(truth_path(base), {**downlink.truth, **(more_truth or {})})
    return meta_path
