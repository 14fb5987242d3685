"""The core:sha512 check: the data file of a pair found from its metadata alone, the hash
computed by a thread, and a decode that starts it before it opens the recording."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from groundstation.io import hashing
from groundstation.io.hashing import DatasetHash, hash_pair_early, pair_dataset
from groundstation.io.sources import open_source

DATA = bytes(range(256)) * 300


def _pair(folder: Path, name: str = "rec", **glob: object) -> Path:
    meta = folder / f"{name}.sigmf-meta"
    doc = {"global": {"core:datatype": "cf32_le", **glob}, "captures": [{}], "annotations": []}
    meta.write_text(json.dumps(doc))
    (folder / f"{name}.sigmf-data").write_bytes(DATA)
    return meta


def test_the_pair_is_found_by_any_of_its_names(tmp_path):
    sha = hashlib.sha512(DATA).hexdigest()
    meta = _pair(tmp_path, **{"core:sha512": sha})
    data = tmp_path / "rec.sigmf-data"
    for given in (meta, data, tmp_path / "rec", str(meta)):
        assert pair_dataset(given) == (data, sha)


@pytest.mark.parametrize(
    "glob",
    [
        {},  # no hash: nothing to check
        {"core:sha512": ""},
        {"core:sha512": 12},
        {"core:sha512": "ab", "core:dataset": "other.bin"},  # left to the full reader
        {"core:sha512": "ab", "core:dataset": "../rec.sigmf-data"},
    ],
)
def test_no_early_hash_unless_the_metadata_gives_one_for_the_pairs_own_file(tmp_path, glob):
    meta = _pair(tmp_path, **glob)
    assert pair_dataset(meta) is None
    assert hash_pair_early(meta) is None


def test_no_early_hash_for_what_is_not_a_readable_pair(tmp_path):
    meta = _pair(tmp_path, **{"core:sha512": "ab"})
    assert pair_dataset(tmp_path / "nothing.sigmf-meta") is None
    assert pair_dataset(tmp_path) is None
    meta.write_text("{not json")
    assert pair_dataset(meta) is None
    meta.write_text("[1, 2]")
    assert pair_dataset(meta) is None
    _pair(tmp_path, "lone", **{"core:sha512": "ab"})
    (tmp_path / "lone.sigmf-data").unlink()
    assert pair_dataset(tmp_path / "lone.sigmf-meta") is None


def test_the_thread_hashes_the_span_and_covers_only_it(tmp_path):
    meta = _pair(tmp_path, **{"core:sha512": "ab"})
    data = tmp_path / "rec.sigmf-data"
    early = hash_pair_early(meta)
    assert early is not None
    assert early.hexdigest() == hashlib.sha512(DATA).hexdigest()
    (tmp_path / "link").symlink_to(data)
    assert early.covers(tmp_path / "link", (0, len(DATA)))  # the same file, named otherwise
    assert not early.covers(data, (0, len(DATA) - 1))
    shutil.copy(data, tmp_path / "copy")
    assert not early.covers(tmp_path / "copy", (0, len(DATA)))
    middle = DatasetHash(data, (100, 5000))
    assert middle.hexdigest() == hashlib.sha512(DATA[100:5000]).hexdigest()
    early.cancel()
    assert not early.covers(data, (0, len(DATA)))


def test_an_unreadable_file_raises_its_error_when_the_digest_is_asked(tmp_path):
    digest = DatasetHash(tmp_path / "missing", (0, 10))
    with pytest.raises(FileNotFoundError):
        digest.hexdigest()


def test_the_source_takes_the_early_hash_only_if_it_covers_its_bytes(fixtures_dir, tmp_path):
    for suffix in (".sigmf-meta", ".sigmf-data"):
        shutil.copy(fixtures_dir / f"ppm/ppm_fade_90k{suffix}", tmp_path / f"r{suffix}")
    data = (tmp_path / "r.sigmf-data").read_bytes()
    with open_source(tmp_path / "r.sigmf-meta") as source:
        assert source.sha512_expected == hashlib.sha512(data).hexdigest()
        early = hash_pair_early(tmp_path / "r")
        assert source.dataset_sha512_aside(early) is early
        other = DatasetHash(tmp_path / "r.sigmf-data", (0, 8))
        taken = source.dataset_sha512_aside(other)
        assert taken is not other and not other.covers(tmp_path / "r.sigmf-data", (0, 8))
        assert taken.hexdigest() == early.hexdigest() == source.sha512_expected


def test_a_decode_hashes_the_data_once_from_before_it_opens_it(fixtures_dir, tmp_path, monkeypatch):
    """The single-recording decode starts the hash before opening the recording and uses
    that one: one thread, not a second read; a damaged file is still reported."""
    from groundstation.cli.app import main
    from groundstation.io import sources

    started, events = [], []

    class Counted(DatasetHash):
        def __init__(self, path, span):
            started.append(Path(path).name)
            events.append("hash")
            super().__init__(path, span)

    def opened(*args, **kwargs):
        events.append("open")
        return open_source(*args, **kwargs)

    monkeypatch.setattr(hashing, "DatasetHash", Counted)
    monkeypatch.setattr(sources, "DatasetHash", Counted)
    monkeypatch.setattr(sources, "open_source", opened)
    for suffix in (".sigmf-meta", ".sigmf-data"):
        shutil.copy(fixtures_dir / f"ppm/ppm_fade_90k{suffix}", tmp_path / f"r{suffix}")
    assert main(["decode", str(tmp_path / "r.sigmf-meta"), "-o", str(tmp_path / "out")]) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["source"]["sha512"] == "checked, matches"
    assert started == ["r.sigmf-data"]
    assert events == ["hash", "open"]
    with open(tmp_path / "r.sigmf-data", "r+b") as f:
        f.seek(4000)
        byte = f.read(1)
        f.seek(4000)
        f.write(bytes([byte[0] ^ 1]))
    assert main(["decode", str(tmp_path / "r.sigmf-meta"), "-o", str(tmp_path / "bad")]) == 0
    summary = json.loads((tmp_path / "bad" / "summary.json").read_text())
    assert summary["source"]["sha512"] == "MISMATCH"
    assert started == ["r.sigmf-data"] * 2


def test_the_hashing_module_loads_nothing_heavy():
    """It starts the hash before the readers load: importing it must not load them."""
    import subprocess
    import sys

    code = (
        "import sys, groundstation.io.hashing\n"
        "print(' '.join(m for m in ('numpy', 'sigmf', 'jsonschema', 'groundstation.io.files',"
        " 'groundstation.io.recording') if m in sys.modules))"
    )
    root = Path(__file__).resolve().parents[3]
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(root), "PATH": ""},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
