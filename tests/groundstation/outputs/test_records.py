"""The serialisation module: records written from the typed results, and read back."""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from groundstation.io import keys
from groundstation.io.files import to_json
from groundstation.outputs import records
from groundstation.results import (
    CarrierBandResult,
    CarrierEstimate,
    DecodedFrame,
    DecodedImage,
    ImageHeader,
    ImageLine,
    PpmBandResult,
    PpmDecodeResult,
    RecordingInfo,
    SessionFrame,
    TelemetryBandResult,
    TelemetryDecodeResult,
    TruncatedFrame,
)
from signals.formats.ppm import CHIP_S
from signals.formats.tlm import CHANNEL_NAMES, SUBCARRIER_HZ, FrameType
from signals.formats.tlm_frames import frame_from_channels

T0 = datetime(1962, 11, 4, 2, 17, 44, tzinfo=UTC)


def _frame(counter: int, *, parity_ok, frame_type=FrameType.ENGINEERING) -> DecodedFrame:
    values = {name: float(counter % 5) + 0.5 for name in CHANNEL_NAMES}
    packed = frame_from_channels(counter, frame_type, values)
    words = packed.words
    return DecodedFrame(
        sample_start=1000 + 2048 * counter,
        time_utc=T0 + timedelta(seconds=2.0 * counter),
        frame_counter=counter,
        frame_type=int(frame_type),
        parity_ok=parity_ok,
        words=tuple(words),
        channels=packed.channels(),
        inverted=counter % 2,
        quality_db=12.5,
        sample_count=2048,
        ebn0_db=9.876,
    )


def _info(band: str, fs_hz: float = 8000.0) -> RecordingInfo:
    return RecordingInfo("rec", band, fs_hz, 80_000, T0, "rec.sigmf-meta")


def test_parity_ok_is_a_bool_whatever_it_is_built_from():
    frame = _frame(3, parity_ok=np.True_)
    assert frame.parity_ok is True and frame.inverted is True
    assert _frame(4, parity_ok=0).parity_ok is False
    record = records.frame_record(frame)
    assert record["parity_ok"] is True
    assert json.loads(records.telemetry_jsonl_text([frame]))["parity_ok"] is True
    row = next(csv.DictReader(io.StringIO(records.telemetry_csv_text([frame]))))
    assert row["parity_ok"] == "true"
    (annotation,) = records.frame_annotations(
        TelemetryDecodeResult([frame], 30.0, 9.0, 0.0, 0.0, bit_rate_bps=64.0, fs_hz=8000.0),
        922.76e6,
    )
    assert annotation[keys.PARITY_OK] is True and annotation[keys.INVERTED] is True


@given(
    counter=st.integers(0, 127),
    parity_ok=st.booleans(),
    frame_type=st.sampled_from([FrameType.ENGINEERING, FrameType.SCIENCE]),
)
def test_frame_round_trips_through_jsonl_and_csv(counter, parity_ok, frame_type):
    frame = _frame(counter, parity_ok=parity_ok, frame_type=frame_type)
    from_json = records.frame_from_record(json.loads(records.telemetry_jsonl_text([frame])))
    row = next(csv.DictReader(io.StringIO(records.telemetry_csv_text([frame]))))
    from_csv = records.frame_from_record(row)
    for back in (from_json, from_csv):
        assert back.sample_start == frame.sample_start
        assert back.time_utc == frame.time_utc
        assert (back.frame_counter, back.frame_type) == (frame.frame_counter, frame.frame_type)
        assert back.parity_ok is frame.parity_ok
        assert back.words == frame.words
        assert back.channels.keys() == frame.channels.keys()
        for name, value in frame.channels.items():
            assert back.channels[name] == pytest.approx(value, abs=1e-9)
        # and the record of the record is the record
        assert records.frame_record(back) == records.frame_record(frame)


def test_csv_columns_are_one_list_and_every_record_fills_them():
    frame = _frame(1, parity_ok=True)
    text = records.telemetry_csv_text([frame, _frame(2, parity_ok=False)])
    header, *rows = list(csv.reader(io.StringIO(text)))
    assert tuple(header) == records.CSV_COLUMNS == tuple(records.frame_record(frame))
    assert [r[header.index("parity_ok")] for r in rows] == ["true", "false"]
    assert all(len(r) == len(header) for r in rows)


def test_telemetry_summary_and_annotations_from_the_types():
    frames = [_frame(1, parity_ok=True), _frame(2, parity_ok=False)]
    decoded = TelemetryDecodeResult(
        frames,
        cn0_dbhz=33.0,
        ebn0_db=math.nan,
        carrier_offset_hz=-420.0,
        carrier_rate_hz_per_s=0.8,
        truncated_frames=[TruncatedFrame(9000, 100, False)],
        bit_rate_bps=64.0,
        fs_hz=8000.0,
        n_samples=80_000,
        clock_offset=-8e-5,
        message="2 frames",
    )
    result = TelemetryBandResult(_info("32cm-tlm"), decoded, ("telemetry.csv",))
    summary = json.loads(to_json(records.summary_record(result)))
    assert summary["frames"] == 2 and summary["parity_failures"] == 1
    assert result.frames_ok == 1
    assert summary["ebn0_db"] is None  # NaN is written as null
    assert summary["clock_offset_ppm"] == pytest.approx(-80.0)
    assert summary["first_frame_utc"] == "1962-11-04T02:17:46.000000Z"
    assert summary["outputs"] == ["telemetry.csv"]
    annotations = records.frame_annotations(decoded, 922.76e6)
    assert [a[keys.LABEL] for a in annotations] == [
        "tlm-frame 1",
        "tlm-frame 2",
        "tlm-frame truncated",
    ]
    assert annotations[0][keys.SNR_DB] == 9.88 and annotations[0][keys.SAMPLE_COUNT] == 2048
    assert annotations[2][keys.SAMPLE_COUNT] == 100 * 125 and annotations[2][keys.TRUNCATED]
    # Each frame spans the carrier at its middle ± (subcarrier + bit rate), from the types.
    for a in annotations:
        middle_s = (a[keys.SAMPLE_START] + a[keys.SAMPLE_COUNT] / 2) / 8000.0
        centre = 922.76e6 - 420.0 + 0.8 * middle_s
        assert a[keys.FREQ_LOWER_EDGE] == pytest.approx(centre - SUBCARRIER_HZ - 64.0, abs=1e-3)
        assert a[keys.FREQ_UPPER_EDGE] == pytest.approx(centre + SUBCARRIER_HZ + 64.0, abs=1e-3)


def _image() -> DecodedImage:
    grey = np.arange(12, dtype=np.int16).reshape(3, 4)
    grey[1] = 0
    received = np.array([True, False, True])
    lines = tuple(
        ImageLine(7, n, grey[n], snr, 500 + 100 * n, 90, n == 2)
        for n, snr in ((0, 14.5), (2, math.nan))
    )
    return DecodedImage(
        image_id=7,
        lines=3,
        pixels=4,
        mode=0,
        grey=grey,
        received=received,
        lines_missing=[1],
        snr_db=14.567,
        line_snr_db=np.array([14.5, np.nan, np.nan]),
        sample_start=300,
        sample_count=500,
        header=ImageHeader(7, 3, 4, 0, 1, 300, 200),
        received_lines=lines,
        carrier_offset_hz=2501.26,
        clock_ppm=12.345,
    )


def test_image_annotations_come_from_the_header_and_line_records():
    annotations = records.image_annotations(_image(), 5.86e9)
    assert [a[keys.LABEL] for a in annotations] == ["ppm-header 7", "ppm-line 0", "ppm-line 2"]
    header, first, last = annotations
    assert header[keys.HEADER_COPY] == 1 and header[keys.SAMPLE_COUNT] == 200
    assert (header[keys.LINES], header[keys.PIXELS], header[keys.MODE]) == (3, 4, 0)
    assert first[keys.SNR_DB] == 14.5 and first[keys.LINE_NUMBER_CORRECTED] is False
    assert last[keys.SNR_DB] is None and last[keys.LINE_NUMBER_CORRECTED] is True
    assert last[keys.SAMPLE_START] == 700 and last[keys.IMAGE_ID] == 7
    # The image's carrier (offset to 0.1 Hz, as in summary.json) ± 1/τ.
    for a in annotations:
        assert a[keys.FREQ_LOWER_EDGE] == pytest.approx(5.86e9 + 2501.3 - 1 / CHIP_S, abs=1e-3)
        assert a[keys.FREQ_UPPER_EDGE] == pytest.approx(5.86e9 + 2501.3 + 1 / CHIP_S, abs=1e-3)


def test_ppm_summary_from_the_types():
    decoded = PpmDecodeResult([_image()], [(0, 300), (800, 1000)], 0, [])
    result = PpmBandResult(_info("5cm-ppm", 180e3), decoded, ("image_7",))
    summary = json.loads(to_json(records.summary_record(result)))
    (entry,) = summary["images"]
    assert entry["lines_received"] == 2 == result.lines_received
    assert entry["lines_missing"] == [1]
    assert entry["snr_db"] == 14.57 and entry["clock_ppm"] == 12.35
    assert entry["png"] == "images/image_7.png" and entry["mask_png"] == "images/image_7_mask.png"
    assert entry["start_s"] == pytest.approx(300 / 180e3)
    assert summary["skipped_samples"] == [[0, 300], [800, 1000]]


def _estimate(cn0_dbhz: float) -> CarrierEstimate:
    return CarrierEstimate(1.5, 8.0e9 + 1.5, -0.25, cn0_dbhz, 10.0, 4.0, 0.01, 0.001, 30.0,
                           8.0e9, 8000.0, 160_000)  # fmt: skip


def test_carrier_annotation_and_summary_from_the_types():
    annotation = records.carrier_annotation(_estimate(45.0), 8000.0)
    assert annotation == {
        keys.SAMPLE_START: 0,
        keys.SAMPLE_COUNT: 160_000,
        keys.LABEL: "carrier",
        keys.FREQUENCY_OFFSET_HZ: 1.5,
        keys.RATE_HZ_PER_S: -0.25,
        keys.CN0_DBHZ: 45.0,
        # the estimate ± 1 / (160 000 samples at 8 kHz)
        keys.FREQ_LOWER_EDGE: 8.0e9 + 1.5 - 0.05,
        keys.FREQ_UPPER_EDGE: 8.0e9 + 1.5 + 0.05,
    }
    assert keys.CN0_DBHZ not in records.carrier_annotation(_estimate(math.inf), 8000.0)
    result = CarrierBandResult(
        recording=_info("8cm-carrier"),
        estimate=_estimate(45.0),
        nonfinite_samples=0,
        decimation=1,
        reference_utc=T0 + timedelta(seconds=10),
        coherent_mode="one-way",
        range_rate_km_s=3.9,
        range_rate_one_way_km_s=3.9,
        range_rate_one_way_uncertainty_km_s=0.3,
    )
    summary = json.loads(to_json(records.summary_record(result)))
    assert summary["reference_utc"] == "1962-11-04T02:17:54Z"
    assert summary["range_rate_km_s"] == 3.9 and "range_rate_two_way_km_s" not in summary
    assert "range_rate_std_km_s" not in summary and summary["predicted_range_rate_km_s"] is None
    keys_in_order = list(summary)
    assert keys_in_order.index("range_rate_one_way_km_s") < keys_in_order.index("range_rate_km_s")


def test_summary_record_refuses_what_is_not_a_band_result():
    with pytest.raises(TypeError, match="not a band result"):
        records.summary_record({"frames": 1})


def test_telemetry_rows_are_what_a_csv_reader_reads_back():
    frames = [_frame(n, parity_ok=n % 3 != 0) for n in range(5)]
    text = records.telemetry_csv_text(frames)
    assert records.telemetry_rows(frames) == list(csv.DictReader(io.StringIO(text)))


def test_measured_record_by_band_kind():
    decoded = TelemetryDecodeResult([_frame(1, parity_ok=False)], 33.0, 9.5, -420.0, 0.8)
    measured = records.measured_record(TelemetryBandResult(_info("32cm-tlm"), decoded))
    assert measured == {
        "cn0_dbhz": 33.0,
        "ebn0_db": 9.5,
        "carrier_offset_hz": -420.0,
        "carrier_rate_hz_per_s": 0.8,
        "parity_failures": 1,
    }
    ppm = PpmBandResult(_info("5cm-ppm", 180e3), PpmDecodeResult([], [], 0, []), ())
    assert records.measured_record(ppm) == {}


def test_session_telemetry_csv_is_the_band_then_the_frame_columns():
    frames = [SessionFrame("32cm-tlm" if n % 2 else "1.6m-tlm", _frame(n, parity_ok=n != 2))
              for n in range(4)]  # fmt: skip
    text = records.session_telemetry_csv_text(frames)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == ["band", *records.CSV_COLUMNS]
    assert [r["band"] for r in rows] == [f.band for f in frames]
    assert [{k: v for k, v in r.items() if k != "band"} for r in rows] == records.telemetry_rows(
        [f.frame for f in frames]
    )
