"""Property tests of the command line over hostile metadata, datatypes and options.

Whatever the input: the exit status is 0, 2 or 3, a failure is exactly one escaped line on
standard error, the input is never written, and no temporary file is left behind.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from groundstation.cli.app import main
from groundstation.io.writer import write_recording

CENTRE_HZ = {"5cm-ppm": 5.86e9, "32cm-tlm": 922.76e6, "8cm-carrier": 3691.04e6}
FS_HZ = {"5cm-ppm": 180e3, "32cm-tlm": 8e3, "8cm-carrier": 8e3}

GLOBAL_KEYS = [
    "core:datatype",
    "core:sample_rate",
    "core:num_channels",
    "core:dataset",
    "core:metadata_only",
    "core:version",
    "core:extensions",
    "mars1:band",
    "mars1:nominal_frequency",
    "mars1:bit_rate",
    "mars1:coherent_mode",
    "mars1:uplink_frequency",
]
CAPTURE_KEYS = ["core:frequency", "core:datetime", "core:sample_start", "core:header_bytes"]

hostile_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(
        [
            "cf32_le",
            "ci16_le",
            "cf64_le",
            "ci8",
            "cu8",
            "ri16_le",
            "5cm-ppm",
            "32cm-tlm",
            "two-way",
            "../x.sigmf-data",
            "/etc/passwd",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999Z",
            "1962-11-04T00:00:00Z",
            "\x1b[2J\x1b]0;t\x07",
        ]
    )
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=2)
    ),
    max_leaves=6,
)


def _base(folder: Path, band: str) -> Path:
    n = int(FS_HZ[band] * 0.3)
    rng = np.random.default_rng(11)
    x = (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64)
    return write_recording(
        folder / "rec",
        [x],
        fs_hz=FS_HZ[band],
        band=band,
        start_utc=datetime(1962, 11, 4, tzinfo=UTC),
        center_frequency_hz=CENTRE_HZ[band],
        bit_rate_bps=64 if band.endswith("-tlm") else None,
    )


def _debris(folder: Path) -> list[str]:
    return [
        p.name
        for p in folder.rglob("*")
        if p.name.endswith((".part", ".lock")) or ".staging-" in p.name or ".old-" in p.name
    ]


def _check_outcome(status: int, err: str) -> None:
    assert status in (0, 2, 3), err
    lines = err.strip().splitlines()
    if status:  # one error line, the last; warnings (a missing start time) may precede it
        errors = [line for line in lines if line.startswith("groundstation: error: ")]
        assert len(errors) == 1 and lines[-1] == errors[0], err
        assert all(line.startswith("groundstation: ") for line in lines), err
    assert not any(ch in err for ch in "\x1b\x07\r"), err


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    band=st.sampled_from(sorted(CENTRE_HZ)),
    global_edits=st.dictionaries(st.sampled_from(GLOBAL_KEYS), hostile_values, max_size=3),
    capture_edits=st.dictionaries(st.sampled_from(CAPTURE_KEYS), hostile_values, max_size=2),
    drop=st.lists(st.sampled_from(GLOBAL_KEYS + CAPTURE_KEYS), max_size=2),
)
def test_any_metadata_decodes_or_is_one_line(
    tmp_path_factory, capsys, band, global_edits, capture_edits, drop
):
    folder = tmp_path_factory.mktemp("fuzz")
    meta = _base(folder, band)
    doc = json.loads(meta.read_text())
    doc["global"].update(global_edits)
    doc["captures"][0].update(capture_edits)
    for key in drop:
        doc["global"].pop(key, None)
        doc["captures"][0].pop(key, None)
    meta.write_text(json.dumps(doc, allow_nan=True))
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    capsys.readouterr()
    status = main(["decode", str(meta), "-o", str(folder / "out")])
    _check_outcome(status, capsys.readouterr().err)
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.name != "out"} == before
    assert _debris(folder) == []


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    datatype=st.sampled_from(["cf32_le", "cf64_le", "ci16_le"]),
    declared=st.sampled_from(["cf32_le", "cf64_le", "ci16_le"]),
    n_bytes=st.integers(min_value=0, max_value=60_000),
    fill=st.sampled_from(["noise", "nan", "inf", "zeros", "max"]),
)
def test_any_data_file_decodes_or_is_one_line(
    tmp_path_factory, capsys, datatype, declared, n_bytes, fill
):
    folder = tmp_path_factory.mktemp("fuzzdata")
    meta = _base(folder, "5cm-ppm")
    doc = json.loads(meta.read_text())
    doc["global"]["core:datatype"] = declared
    meta.write_text(json.dumps(doc))
    rng = np.random.default_rng(n_bytes)
    raw = {
        "noise": rng.integers(0, 256, n_bytes, dtype=np.uint8).tobytes(),
        "nan": np.full(n_bytes // 4 + 1, np.nan, np.float32).tobytes()[:n_bytes],
        "inf": np.full(n_bytes // 4 + 1, np.inf, np.float32).tobytes()[:n_bytes],
        "zeros": bytes(n_bytes),
        "max": b"\xff\x7f" * (n_bytes // 2),
    }[fill]
    (folder / "rec.sigmf-data").write_bytes(raw)
    capsys.readouterr()
    status = main(["decode", str(meta), "-o", str(folder / "out")])
    _check_outcome(status, capsys.readouterr().err)
    assert _debris(folder) == []


NUMERIC_OPTIONS = {
    "ppm": [
        "--fs-hz",
        "--esn0-db",
        "--clock-ppm",
        "--carrier-offset-hz",
        "--lead-s",
        "--tail-s",
        "--lines",
        "--pixels",
        "--mode",
        "--image-id",
        "--repeat",
        "--seed",
    ],
    "tlm": [
        "--fs-hz",
        "--ebn0-db",
        "--cn0-dbhz",
        "--duration",
        "--carrier-s",
        "--rate",
        "--phase-noise",
        "--clock-ppm",
        "--seed",
    ],
    "carrier": ["--fs-hz", "--cn0-dbhz", "--duration", "--seed"],
}
BAD_NUMBERS = ["nan", "inf", "-inf", "-1", "1e9", "1e308", "-1e308", "", "x", "0x10", "1e-320"]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kind=st.sampled_from(sorted(NUMERIC_OPTIONS)),
    data=st.data(),
)
def test_hostile_synth_options_are_one_line(tmp_path_factory, capsys, kind, data):
    option = data.draw(st.sampled_from(NUMERIC_OPTIONS[kind]))
    value = data.draw(st.sampled_from(BAD_NUMBERS))
    folder = tmp_path_factory.mktemp("opts")
    extra = (
        ["--lines", "4", "--pixels", "4"]
        if kind == "ppm" and option not in ("--lines", "--pixels")
        else []
    )
    if kind != "ppm" and option not in ("--duration",):
        extra = ["--duration", "2"]
    capsys.readouterr()
    status = main(["synth", kind, *extra, option, value, "-o", str(folder / "x")])
    err = capsys.readouterr().err
    _check_outcome(status, err)
    if status == 0:
        assert value not in ("nan", "inf", "-inf", "x", "", "0x10")
    assert _debris(folder) == []
