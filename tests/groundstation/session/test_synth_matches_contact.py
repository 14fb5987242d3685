"""``synth tlm`` and ``contact`` are one spacecraft: at the same instant they send the same
telemetry (same flight model, same trajectory, same downlink generator)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from groundstation.cli.synth.tlm import synth_tlm
from groundstation.io.recording import open_recording
from groundstation.session.contact import run_session
from groundstation.session.plan import SessionProfile, find_session_time
from signals.formats.tlm import CHANNEL_BY_NAME
from signals.formats.uplink import CARRIER_STEP_S, Command

#: Set by the spacecraft's command state machine in a session, not by the flight model.
COMMAND_STATE = ("command_count", "last_command", "tx_state")


@pytest.mark.parametrize("scenario", ["historical", "nominal"])
def test_synth_tlm_sends_what_a_contact_sends_at_that_time(tmp_path, scenario):
    seed = 11
    profile = SessionProfile.named("mission")
    start = find_session_time(datetime.fromisoformat("1962-11-10T00:00+00:00"))
    result = run_session(
        start,
        scenario,
        tmp_path / "contact",
        profile=profile,
        seed=seed,
        record=True,
        show_progress=False,
        write_report=False,
    )
    band_id = result.plan.main_band
    outcome = result.bands[band_id]
    assert outcome.frames_decoded > 0
    recording = open_recording(tmp_path / "contact" / outcome.recording)
    carrier_s = Command.start_session(profile.carrier_s).argument * CARRIER_STEP_S

    meta = synth_tlm(
        tmp_path / "synth",
        band_id=band_id,
        bit_rate_bps=result.plan.bit_rate_bps,
        start_utc=recording.start_utc,
        carrier_s=carrier_s,
        seed=seed,
        scenario=scenario,
    )
    truth = json.loads(meta.with_name("synth.truth.json").read_text())
    sent = {f["frame_counter"]: f["channels"] for f in truth["frames"]}

    frames = [f.frame for f in result.frames if f.band == band_id and f.frame.parity_ok]
    assert frames
    compared = 0
    for frame in frames:
        channels = sent[frame.frame_counter]
        for name, value in channels.items():
            if name in COMMAND_STATE:
                continue
            step = CHANNEL_BY_NAME[name].scale
            assert frame.channels[name] == pytest.approx(value, abs=step * 1e-6), name
            compared += 1
    assert compared >= 6 * len(frames)
