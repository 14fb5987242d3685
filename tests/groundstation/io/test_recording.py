"""SigMF recording I/O (ICD §2): round trips, the sigmf library's view, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import sigmf
from hypothesis import given, settings
from hypothesis import strategies as st

from groundstation.errors import (
    DataFileError,
    DatatypeError,
    MetadataError,
    RecordingError,
    UnknownBandError,
)
from groundstation.io.recording import nonfinite_to_zero, open_recording, parse_utc
from groundstation.io.writer import (
    RecordingWriter,
    link_data_beside,
    write_annotated_metadata,
    write_recording,
)

T0 = datetime(1962, 11, 2, 3, 4, 5, 250000, tzinfo=UTC)


def _samples(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.3 * (rng.standard_normal(n) + 1j * rng.standard_normal(n))).astype(np.complex64)


def _write(tmp_path: Path, x: np.ndarray, name: str = "rec", **kwargs) -> Path:
    args = {
        "fs_hz": 180e3,
        "band": "5cm-ppm",
        "start_utc": T0,
        "center_frequency_hz": 5.86e9 + 1234.5,
    }
    args.update(kwargs)
    return write_recording(tmp_path / name, [x[: len(x) // 3], x[len(x) // 3 :]], **args)


@pytest.mark.parametrize(
    ("datatype", "tolerance"), [("cf32_le", 0), ("cf64_le", 0), ("ci16_le", 3e-5)]
)
def test_round_trip_each_datatype(tmp_path, datatype, tolerance):
    x = _samples(5000) / np.float32(8)  # inside the ci16 full scale of ±1
    meta = _write(tmp_path, x, datatype=datatype)
    rec = open_recording(meta)
    assert rec.datatype == datatype
    assert rec.n_samples == 5000
    assert rec.fs_hz == 180e3
    assert rec.band == "5cm-ppm"
    assert rec.center_frequency_hz == 5.86e9 + 1234.5
    assert rec.nominal_frequency_hz == 5.86e9
    assert rec.start_utc == T0
    got = np.concatenate([chunk for _, chunk in rec.chunks(777)])
    assert got.dtype == np.complex64
    np.testing.assert_allclose(got, x, atol=tolerance, rtol=0)
    starts = [start for start, _ in rec.chunks(777, start=100, stop=2000)]
    assert starts[0] == 100 and starts[-1] < 2000


def test_written_files_pass_sigmf_validate_and_read_with_sigmf(tmp_path):
    x = _samples(4000)
    meta = _write(tmp_path, x, band="32cm-tlm", center_frequency_hz=922.76e6, bit_rate_bps=64)
    validate = Path(sys.executable).with_name("sigmf_validate")
    result = subprocess.run([str(validate), str(meta)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    handle = sigmf.fromfile(str(meta))
    np.testing.assert_array_equal(handle.read_samples(), x)
    assert handle.get_global_field("mars1:band") == "32cm-tlm"
    assert handle.get_global_field("mars1:bit_rate") == 64
    assert handle.get_global_field("core:extensions")[0]["name"] == "mars1"
    assert handle.get_captures()[0]["core:datetime"] == "1962-11-02T03:04:05.250000Z"


def test_chunks_are_private(tmp_path):
    x = _samples(1000)
    rec = open_recording(_write(tmp_path, x))
    chunk = rec.read(0, 10)
    chunk[:] = np.nan
    assert nonfinite_to_zero(chunk) == 10
    np.testing.assert_array_equal(open_recording(rec.meta_path).read(0, 10), x[:10])


def test_open_accepts_any_name_of_the_pair(tmp_path):
    meta = _write(tmp_path, _samples(100))
    for name in (meta, meta.with_suffix(".sigmf-data"), tmp_path / "rec"):
        assert open_recording(name).n_samples == 100


def test_annotated_copy_validates_and_reads_beside_the_data(tmp_path):
    rec = open_recording(_write(tmp_path, _samples(3000)))
    out = tmp_path / "out" / "rec.sigmf-meta"
    annotations = [
        {"core:sample_start": 2000, "core:sample_count": 10, "core:label": "ppm-line 1"},
        {
            "core:sample_start": np.int64(100),
            "core:sample_count": 50,
            "core:label": "ppm-line 0",
            "mars1:snr_db": np.float32(14.5),
        },
    ]
    write_annotated_metadata(rec, out, annotations)
    copy = json.loads(out.read_text())
    assert [a["core:label"] for a in copy["annotations"]] == ["ppm-line 0", "ppm-line 1"]
    assert copy["annotations"][0]["mars1:snr_db"] == pytest.approx(14.5)
    # ICD §2: core:dataset names a file in the metadata's own folder, so a copy in another
    # folder names none; beside the data (the link decode puts there) it reads the samples.
    assert "core:dataset" not in copy["global"]
    assert link_data_beside(rec.data_path, out) == tmp_path / "out" / "rec.sigmf-data"
    again = open_recording(out)
    assert again.n_samples == 3000


def test_writer_leaves_nothing_behind_on_error(tmp_path):
    with (
        pytest.raises(RuntimeError),
        RecordingWriter(
            tmp_path / "broken",
            fs_hz=8e3,
            band="32cm-tlm",
            start_utc=T0,
            center_frequency_hz=922.76e6,
        ) as writer,
    ):
        writer.write(_samples(100))
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_chunks_read_one_chunk_at_a_time(tmp_path):
    """Reading a 200 MB recording through chunks keeps the resident set far below its size."""
    n = 25_000_000
    block = _samples(1_000_000)
    meta = write_recording(
        tmp_path / "big",
        (block for _ in range(n // len(block))),
        fs_hz=180e3,
        band="5cm-ppm",
        start_utc=T0,
        center_frequency_hz=5.86e9,
    )
    script = (
        "import numpy as np\n"
        "from groundstation.io.recording import open_recording\n"
        f"rec = open_recording({str(meta)!r})\n"
        "total = 0.0\n"
        "for _, c in rec.chunks(1 << 20):\n"
        "    total += float(np.add.reduce(c.real))\n"
        # VmHWM is this process's own peak; ru_maxrss can carry the parent's over fork+exec
        "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])\n"
    )
    peak_kib = int(
        subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        ).stdout.split()[-1]
    )
    assert peak_kib < 150 * 1024, f"peak RSS {peak_kib / 1024:.0f} MiB for a 200 MB file"


# ------------------------------------------------------------------------- bad input


def _meta_dict(tmp_path: Path) -> tuple[Path, dict]:
    meta = _write(tmp_path, _samples(100))
    return meta, json.loads(meta.read_text())


def _rewrite(meta: Path, doc) -> Path:
    meta.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return meta


def test_metadata_not_json(tmp_path):
    meta, _ = _meta_dict(tmp_path)
    with pytest.raises(MetadataError, match="not valid JSON"):
        open_recording(_rewrite(meta, "{ this is not json"))


@pytest.mark.parametrize(
    ("mutate", "error", "match"),
    [
        (lambda d: d.pop("global"), MetadataError, "'global'"),
        (lambda d: d.pop("captures"), MetadataError, "captures"),
        (lambda d: d["global"].pop("core:datatype"), MetadataError, "core:datatype"),
        (lambda d: d["global"].pop("core:sample_rate"), MetadataError, "core:sample_rate"),
        (lambda d: d["global"].update({"core:sample_rate": -5}), MetadataError, "positive"),
        (lambda d: d["global"].update({"core:datatype": "ri8"}), DatatypeError, "ri8"),
        (lambda d: d["global"].update({"core:datatype": "cu16_le"}), DatatypeError, "cu16_le"),
        (lambda d: d["global"].update({"mars1:band": "3cm-tv"}), UnknownBandError, "3cm-tv"),
        (lambda d: d["captures"][0].update({"core:datetime": 5}), MetadataError, "ISO 8601"),
        (
            lambda d: d["captures"][0].update({"core:header_bytes": -3}),
            MetadataError,
            "core:header_bytes",
        ),
        (
            lambda d: d["captures"][0].update({"core:datetime": "yesterday"}),
            MetadataError,
            "ISO 8601",
        ),
        (
            lambda d: d["captures"][0].update({"core:frequency": "high"}),
            MetadataError,
            "not valid SigMF at captures/0/core:frequency",
        ),
    ],
)
def test_bad_metadata_is_one_clear_error(tmp_path, mutate, error, match):
    meta, doc = _meta_dict(tmp_path)
    mutate(doc)
    with pytest.raises(error, match=match) as info:
        open_recording(_rewrite(meta, doc))
    assert "\n" not in str(info.value)


def test_band_inferred_from_frequencies(tmp_path):
    meta, doc = _meta_dict(tmp_path)
    doc["global"].pop("mars1:band")
    doc["global"]["mars1:nominal_frequency"] = 183.6e6
    assert open_recording(_rewrite(meta, doc)).band == "1.6m-tlm"
    doc["global"].pop("mars1:nominal_frequency")
    doc["captures"][0]["core:frequency"] = 922.76e6 + 15e3
    assert open_recording(_rewrite(meta, doc)).band == "32cm-tlm"
    doc["captures"][0]["core:frequency"] = 2.4e9
    with pytest.raises(UnknownBandError, match="no band"):
        open_recording(_rewrite(meta, doc))


def test_data_file_problems(tmp_path):
    meta = _write(tmp_path, _samples(100))
    data = meta.with_suffix(".sigmf-data")
    with open(data, "ab") as f:
        f.write(b"\x00\x01\x02")
    with pytest.raises(DataFileError, match="not a whole number"):
        open_recording(meta)
    data.write_bytes(b"")
    with pytest.raises(DataFileError, match="empty"):
        open_recording(meta)
    data.unlink()
    with pytest.raises(DataFileError, match="missing"):
        open_recording(meta)
    with pytest.raises(MetadataError, match="no metadata"):
        open_recording(tmp_path / "nothing")


def test_sample_rate_below_band_minimum(tmp_path):
    rec = open_recording(_write(tmp_path, _samples(100), fs_hz=48e3))
    with pytest.raises(RecordingError, match="below"):
        rec.require_min_sample_rate()


@settings(max_examples=60, deadline=None)
@given(
    doc=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "global",
                        "captures",
                        "core:datatype",
                        "core:sample_rate",
                        "mars1:band",
                        "core:datetime",
                        "x",
                    ]
                ),
                children,
                max_size=4,
            )
        ),
        max_leaves=12,
    )
)
def test_arbitrary_metadata_never_escapes_as_a_raw_exception(tmp_path_factory, doc):
    directory = tmp_path_factory.mktemp("hyp")
    (directory / "r.sigmf-data").write_bytes(b"\x00" * 80)
    (directory / "r.sigmf-meta").write_text(json.dumps(doc))
    try:
        open_recording(directory / "r")
    except RecordingError as exc:
        assert str(exc) and "\n" not in str(exc)


def test_parse_utc_forms():
    assert parse_utc("1962-11-01T16:14:16Z") == datetime(1962, 11, 1, 16, 14, 16, tzinfo=UTC)
    assert parse_utc("1962-11-01 16:14:16") == datetime(1962, 11, 1, 16, 14, 16, tzinfo=UTC)
    assert parse_utc("1962-11-01T19:14:16+03:00").hour == 16


# ---------------------------------------------------------------- hostile metadata


def _edit_meta(meta: Path, edit) -> Path:
    doc = json.loads(meta.read_text())
    edit(doc)
    meta.write_text(json.dumps(doc))
    return meta


@pytest.mark.parametrize("dataset", ["../secret.sigmf-data", "/etc/passwd", "sub/x", ".."])
def test_dataset_outside_the_folder_is_refused_without_disclosing_it(tmp_path, dataset):
    (tmp_path / "secret.sigmf-data").write_bytes(b"\x01" * 1294)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x").write_bytes(b"\x00" * 80)
    folder = tmp_path / "rec"
    folder.mkdir()
    meta = _edit_meta(
        _write(folder, _samples(1000)), lambda d: d["global"].update({"core:dataset": dataset})
    )
    with pytest.raises(MetadataError, match="ICD §2") as info:
        open_recording(meta)
    assert "1294" not in str(info.value)


def test_dataset_link_leaving_the_folder_is_refused(tmp_path):
    (tmp_path / "outside.bin").write_bytes(b"\x00" * 800)
    folder = tmp_path / "rec"
    folder.mkdir()
    (folder / "link.sigmf-data").symlink_to(tmp_path / "outside.bin")
    meta = _edit_meta(
        _write(folder, _samples(1000)),
        lambda d: d["global"].update({"core:dataset": "link.sigmf-data"}),
    )
    with pytest.raises(MetadataError, match="links outside"):
        open_recording(meta)


def test_dataset_in_the_folder_is_read(tmp_path):
    meta = _write(tmp_path, _samples(1000))
    (tmp_path / "rec.sigmf-data").rename(tmp_path / "other.bin")
    _edit_meta(meta, lambda d: d["global"].update({"core:dataset": "other.bin"}))
    assert open_recording(meta).n_samples == 1000


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda d: d["global"].update({"core:datatype": ["cf32_le"]}), "not supported"),
        (lambda d: d["global"].update({"core:num_channels": "\x1b[2J\n2"}), "num_channels"),
        (lambda d: d["global"].update({"core:metadata_only": True}), "metadata_only"),
        (lambda d: d["captures"].append(dict(d["captures"][0])), "2 captures"),
        (lambda d: d["captures"][0].update({"core:sample_start": 5}), "sample_start"),
        (lambda d: d["captures"][0].update({"core:datetime": "0001-01-01T00:00:00Z"}), "outside"),
        (lambda d: d["captures"][0].update({"core:datetime": "9999-12-31T23:59:59Z"}), "outside"),
        (lambda d: d["captures"][0].update({"core:datetime": "0001-01-01T00:00:00+01:00"}), "ISO"),
    ],
)
def test_hostile_metadata_is_one_clear_error(tmp_path, edit, match):
    meta = _edit_meta(_write(tmp_path, _samples(1000)), edit)
    with pytest.raises(RecordingError, match=match) as info:
        open_recording(meta)
    assert "\n" not in str(info.value) and "\x1b" not in str(info.value)


def test_deeply_nested_and_huge_metadata_are_refused(tmp_path):
    meta = _write(tmp_path, _samples(1000))
    meta.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(MetadataError, match="nested too deeply"):
        open_recording(meta)
    # nested shallowly enough for the JSON parser, too deeply for the schema check
    metadata = json.loads(_write(tmp_path, _samples(1000)).read_text())
    metadata["global"]["x"] = json.loads("[" * 500 + "]" * 500)
    meta.write_text(json.dumps(metadata))
    with pytest.raises(MetadataError, match="nested too deeply"):
        open_recording(meta)
    with open(meta, "wb") as f:
        f.truncate(17 * 2**20)
    with pytest.raises(MetadataError, match="larger than"):
        open_recording(meta)


@pytest.mark.parametrize(
    ("band", "fs_hz", "n", "match"),
    [
        ("5cm-ppm", 1e12, 10_000, "above the 1e\\+07 Hz"),
        ("32cm-tlm", 1e9, 10_000, "above the 1e\\+06 Hz"),
        ("32cm-tlm", 8e3, 10, "too short"),
        ("8cm-carrier", 8e3, 100, "too short"),
    ],
)
def test_rates_and_lengths_outside_the_receiver_are_refused(tmp_path, band, fs_hz, n, match):
    centre = {"5cm-ppm": 5.86e9, "32cm-tlm": 922.76e6, "8cm-carrier": 3691.04e6}[band]
    meta = _write(tmp_path, _samples(n), band=band, center_frequency_hz=centre, fs_hz=8e3)
    _edit_meta(meta, lambda d: d["global"].update({"core:sample_rate": fs_hz}))
    with pytest.raises(RecordingError, match=match):
        open_recording(meta).require_min_sample_rate()


def test_reannotating_a_decoded_copy_never_repeats_annotations(tmp_path):
    rec = open_recording(_write(tmp_path, _samples(3000)))
    line = {"core:sample_start": 100, "core:sample_count": 10, "core:label": "ppm-line 0"}
    first = write_annotated_metadata(rec, tmp_path / "a" / "rec.sigmf-meta", [line])
    (tmp_path / "a" / "rec.sigmf-data").symlink_to(rec.data_path)
    again = write_annotated_metadata(
        open_recording(first), tmp_path / "b" / "rec.sigmf-meta", [line]
    )
    assert len(json.loads(again.read_text())["annotations"]) == 1
    with pytest.raises(RecordingError, match="overwrite"):
        write_annotated_metadata(rec, rec.meta_path, [line])


def test_a_data_file_that_shrinks_while_read_is_one_error(tmp_path):
    rec = open_recording(_write(tmp_path, _samples(10_000)))
    with open(rec.data_path, "r+b") as f:
        f.truncate(8 * 4000)
    assert rec.read(0, 4000).size == 4000
    with pytest.raises(DataFileError, match="shrank"):
        rec.read(3000, 2000)
