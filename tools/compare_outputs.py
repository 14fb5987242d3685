"""Decode every fixture and compare the outputs, file by file and byte by byte, with a
reference made the same way from another checkout.

Every recording ``fixtures/<kind>/<name>.sigmf-meta`` is decoded as a user would decode it,
``python -m groundstation decode fixtures/<kind>/<name>.sigmf-meta -o DIR/<name>``, so a
reference folder holds one sub-folder per fixture. Made before a refactoring and compared
after it, it shows whether the outputs changed at all.

Usage (from the repository root, with the project's environment active)::

    python tools/compare_outputs.py --make REF_DIR       # write the reference
    python tools/compare_outputs.py --against REF_DIR    # decode again and compare
    python tools/compare_outputs.py --against REF_DIR --keep NEW_DIR --only ppm_limits

Each file of each fixture is reported ``identical``, ``DIFFERENT`` (with the first differing
line of a text file, or the number of differing pixels of a PNG), ``MISSING`` (in the
reference, not in the new output) or ``EXTRA`` (only in the new output). Fixtures without a
reference folder are reported ``MISSING``; other folders of REF_DIR are ignored.

One field depends on where things are, not on what was decoded: the annotated copy
``<name>.sigmf-meta`` names the original data file in ``core:dataset`` by a path relative to
the output folder, so two checkouts in different places write different paths. When that is
the only difference the file is reported ``equivalent`` (the same data file name) and does
not count as a difference; ``--strict`` compares those bytes too.

Exit status: 0 when every file is identical or equivalent (with ``--make``: every decode
succeeded), 1 on any difference, missing file or failed decode, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[1]
TEXT_SUFFIXES = (".json", ".jsonl", ".csv", ".sigmf-meta", ".html", ".txt", ".md")
#: ``"core:dataset": "<any path>/<file>"``: the path part depends on the folders' places.
DATASET_PATH = re.compile(rb'("core:dataset"\s*:\s*")[^"]*/([^"/]*")')


@dataclass(frozen=True)
class Fixture:
    """A fixture recording: its name and its metadata file."""

    name: str
    meta_path: Path


def find_fixtures(root: Path, only: list[str] | None = None) -> list[Fixture]:
    """Every ``fixtures/<kind>/<name>.sigmf-meta`` under ``root``, by name."""
    fixtures = [
        Fixture(p.name.removesuffix(".sigmf-meta"), p)
        for p in sorted((root / "fixtures").glob("*/*.sigmf-meta"))
    ]
    if only:
        fixtures = [f for f in fixtures if f.name in only]
    return fixtures


def decode(fixture: Fixture, out_dir: Path, root: Path) -> tuple[int, str]:
    """Run the command-line decoder on ``fixture`` into ``out_dir``: (exit code, stderr)."""
    env = dict(os.environ, PYTHONPATH=str(root), MPLBACKEND="Agg")
    command = [sys.executable, "-m", "groundstation", "decode", str(fixture.meta_path)]
    result = subprocess.run(
        [*command, "-o", str(out_dir)], cwd=root, env=env, capture_output=True, text=True
    )
    return result.returncode, result.stderr.strip()


def _first_text_difference(a: bytes, b: bytes) -> str:
    lines_a = a.decode("utf-8", "replace").splitlines()
    lines_b = b.decode("utf-8", "replace").splitlines()
    for i, (x, y) in enumerate(zip(lines_a, lines_b, strict=False)):
        if x != y:
            return f"line {i + 1}: {x.strip()[:70]!r} -> {y.strip()[:70]!r}"
    return f"{len(lines_a)} lines -> {len(lines_b)} lines"


def _png_difference(ref: Path, new: Path) -> str:
    try:
        a = np.asarray(Image.open(ref))
        b = np.asarray(Image.open(new))
    except OSError as exc:
        return f"not readable as PNG ({exc})"
    if a.shape != b.shape:
        return f"size {a.shape} -> {b.shape}"
    n = int(np.count_nonzero(np.any((a != b).reshape(a.shape[0], a.shape[1], -1), axis=-1)))
    return f"{n} of {a.shape[0] * a.shape[1]} pixels differ" if n else "same pixels, other bytes"


def _json_changes(a: object, b: object, path: str = "") -> list[str]:
    """Key paths that differ between two JSON values (list indices shown as ``[*]``)."""
    if isinstance(a, dict) and isinstance(b, dict):
        changes = [f"-{path}.{k}".replace("-.", "-") for k in a if k not in b]
        changes += [f"+{path}.{k}".replace("+.", "+") for k in b if k not in a]
        for k in a.keys() & b.keys():
            changes += _json_changes(a[k], b[k], f"{path}.{k}" if path else k)
        return changes
    if isinstance(a, list) and isinstance(b, list):
        changes = [] if len(a) == len(b) else [f"~{path} length {len(a)} -> {len(b)}"]
        for x, y in zip(a, b, strict=False):
            changes += _json_changes(x, y, f"{path}[*]")
        return changes
    return [] if a == b else [f"~{path}"]


def _json_difference(a: bytes, b: bytes) -> str | None:
    """Summary of the keys added (+), removed (-) and changed (~), or None if not JSON."""
    try:
        x, y = json.loads(a), json.loads(b)
    except ValueError:
        return None
    counts = Counter(_json_changes(x, y))
    if not counts:
        return "same JSON content, other formatting or key order"
    items = [f"{c} ×{n}" if n > 1 else c for c, n in sorted(counts.items())]
    more = f", ... ({len(items) - 4} more)" if len(items) > 4 else ""
    return "JSON " + ", ".join(items[:4]) + more


def describe_difference(ref: Path, new: Path) -> str:
    """A short hint at what differs between two files."""
    if ref.suffix == ".png":
        return _png_difference(ref, new)
    a, b = ref.read_bytes(), new.read_bytes()
    if ref.name.endswith((".json", ".sigmf-meta")):
        summary = _json_difference(a, b)
        if summary is not None:
            return summary
    if ref.name.endswith(TEXT_SUFFIXES):
        return _first_text_difference(a, b)
    return f"{len(a)} bytes -> {len(b)} bytes"


def without_dataset_path(data: bytes) -> bytes:
    """SigMF metadata with ``core:dataset`` cut to the data file's name."""
    return DATASET_PATH.sub(rb"\1\2", data)


def compare_file(ref: Path, new: Path, *, strict: bool = False) -> tuple[str, str]:
    """(status, detail) of one file present in both folders."""
    a, b = ref.read_bytes(), new.read_bytes()
    if a == b:
        return "identical", ""
    if not strict and ref.name.endswith(".sigmf-meta"):
        a, b = without_dataset_path(a), without_dataset_path(b)
        if a == b:
            return "equivalent", "only the core:dataset path differs"
    return "DIFFERENT", describe_difference(ref, new)


def compare_dirs(
    ref_dir: Path, new_dir: Path, *, strict: bool = False
) -> list[tuple[str, str, str]]:
    """(relative path, status, detail) for every file in either folder."""
    ref_files = {p.relative_to(ref_dir) for p in ref_dir.rglob("*") if p.is_file()}
    new_files = {p.relative_to(new_dir) for p in new_dir.rglob("*") if p.is_file()}
    rows = []
    for rel in sorted(ref_files | new_files):
        if rel not in new_files:
            rows.append((str(rel), "MISSING", "in the reference only"))
        elif rel not in ref_files:
            rows.append((str(rel), "EXTRA", "in the new output only"))
        else:
            rows.append((str(rel), *compare_file(ref_dir / rel, new_dir / rel, strict=strict)))
    return rows


def make_reference(fixtures: list[Fixture], ref_dir: Path, root: Path) -> int:
    """Decode every fixture into ``ref_dir/<name>``; 1 if a decode failed."""
    failed = 0
    for fixture in fixtures:
        out = ref_dir / fixture.name
        if out.exists() and any(out.iterdir()):
            print(f"{fixture.name}: {out} is not empty; refusing to overwrite", file=sys.stderr)
            return 1
        code, stderr = decode(fixture, out, root)
        print(f"{fixture.name}: exit {code}" + (f" ({stderr.splitlines()[-1]})" if code else ""))
        failed += code != 0
    return 1 if failed else 0


def compare_with_reference(
    fixtures: list[Fixture], ref_dir: Path, new_root: Path, root: Path, *, strict: bool = False
) -> int:
    """Decode every fixture into ``new_root/<name>`` and compare with ``ref_dir/<name>``;
    0 when nothing differs, else 1."""
    counts = {"identical": 0, "equivalent": 0, "DIFFERENT": 0, "MISSING": 0, "EXTRA": 0}
    failed = 0
    for fixture in fixtures:
        new_dir = new_root / fixture.name
        code, stderr = decode(fixture, new_dir, root)
        print(f"== {fixture.name} (decode exit {code})")
        if code != 0:
            failed += 1
            print(f"   decode failed: {stderr.splitlines()[-1] if stderr else ''}")
        if not (ref_dir / fixture.name).is_dir():
            print(f"   MISSING    reference folder {ref_dir / fixture.name}")
            counts["MISSING"] += 1
            continue
        for rel, status, detail in compare_dirs(ref_dir / fixture.name, new_dir, strict=strict):
            counts[status] += 1
            print(f"   {status:10s} {rel}" + (f"  ({detail})" if detail else ""))
    print(
        f"\n{counts['identical']} identical, {counts['equivalent']} equivalent, "
        f"{counts['DIFFERENT']} different, {counts['MISSING']} missing, {counts['EXTRA']} extra"
        + (f", {failed} decode(s) failed" if failed else "")
    )
    same = counts["identical"] + counts["equivalent"]
    return 0 if same and same == sum(counts.values()) and not failed else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Decode every fixture and compare the outputs with a reference folder."
    )
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--make", type=Path, metavar="REF_DIR", help="write the reference")
    action.add_argument("--against", type=Path, metavar="REF_DIR", help="compare with it")
    parser.add_argument("--keep", type=Path, metavar="NEW_DIR", help="keep the new outputs here")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="these fixtures only")
    parser.add_argument("--repo", type=Path, default=REPO_ROOT, help="checkout to decode with")
    parser.add_argument(
        "--strict", action="store_true", help="compare core:dataset paths byte by byte too"
    )
    args = parser.parse_args(argv)

    root = args.repo.resolve()
    fixtures = find_fixtures(root, args.only)
    if not fixtures:
        print(f"no fixtures found under {root / 'fixtures'}", file=sys.stderr)
        return 2
    if args.make:
        return make_reference(fixtures, args.make.resolve(), root)
    if not args.against.is_dir():
        print(f"no reference folder {args.against}", file=sys.stderr)
        return 2
    if args.keep:
        if args.keep.exists() and any(args.keep.iterdir()):
            print(f"{args.keep} is not empty; refusing to overwrite", file=sys.stderr)
            return 2
        return compare_with_reference(
            fixtures, args.against.resolve(), args.keep.resolve(), root, strict=args.strict
        )
    with tempfile.TemporaryDirectory(prefix="mars1-outputs-") as tmp:
        return compare_with_reference(
            fixtures, args.against.resolve(), Path(tmp), root, strict=args.strict
        )


if __name__ == "__main__":
    sys.exit(main())
