"""Mutation check: do the tests notice a one-line change to a format or a receiver?

Each mutant below is one line of the formats, modulators or receivers changed the way a
slip of the keyboard or a misread ICD would change it (a marker chip 31 -> 30, parity odd ->
even, a calibration offset 20.0 -> 20.1, ...). A format module is shared by the transmitter
and the receiver, so such a change still decodes its own recordings perfectly: only a test
that holds the ICD's numbers itself notices it.

For every mutant the script copies the repository once into a temporary folder (the
working tree is never touched), replaces the line there, runs ``python -m pytest -q -x`` on
the tests listed with the mutant (those that exist in the copy; the whole suite if none
does) with a time limit, puts the line back, and reports whether the tests failed
("caught") or passed ("SURVIVED").

A mutant names a file, but the line is found by its text: when a module has been split or
moved, the line is looked up in every ``.py`` and ``.toml`` file under ``signals/`` and
``groundstation/``. A line found nowhere (or in more than one place) is reported and left out
of the count.

Usage (from the repository root, with the project's environment active)::

    python tools/mutants.py                     # every mutant, its own tests
    python tools/mutants.py --list              # the mutants, without running anything
    python tools/mutants.py --only ppm-line-marker tlm-dedup-parity
    python tools/mutants.py --full              # the whole suite for every mutant (slow)
    python tools/mutants.py --repo ../other     # mutate a copy of another checkout
    python tools/mutants.py --timeout 300 --json results.json

Exit status: 0 when every mutant that could be applied was caught, 1 when one survived or
timed out, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SEARCH_DIRS = ("signals", "groundstation")
SEARCH_SUFFIXES = (".py", ".toml")
IGNORED = (".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache", "*.egg-info", "out")

PPM_TESTS = (
    "tests/contract/test_contract_ppm.py",
    "tests/signals/formats/test_ppm_format.py",
    "tests/signals/modulators/test_ppm_modulator.py",
    "tests/groundstation/receivers/test_ppm_receiver.py",
    "tests/groundstation/outputs/test_ppm_fixtures.py",
    "tests/groundstation/outputs/test_ppm_decode.py",
)
TLM_TESTS = (
    "tests/contract/test_contract_tlm.py",
    "tests/contract/test_contract_tlm_segments.py",
    "tests/signals/formats/test_tlm_frames.py",
    "tests/signals/modulators/test_tlm_modulator.py",
    "tests/groundstation/receivers/test_tlm_chain.py",
    "tests/groundstation/outputs/test_tlm_fixtures.py",
    "tests/groundstation/outputs/test_tlm_decode.py",
)
UPLINK_TESTS = (
    "tests/contract/test_contract_links.py",
    "tests/signals/formats/test_uplink.py",
    "tests/signals/spacecraft/test_spacecraft.py",
)
LINK_TESTS = (
    "tests/contract/test_contract_links.py",
    "tests/signals/path",
    "tests/signals/spacecraft",
    "tests/groundstation/receivers/test_carrier.py",
)
INDEPENDENT = ("tests/groundstation/outputs/test_independent_recordings.py",)
#: The push-based receivers and their compiled kernels (groundstation/receivers/).
TLM_STREAM_TESTS = (
    "tests/groundstation/receivers/test_tlm_frontend.py",
    "tests/groundstation/receivers/test_tlm_stream.py",
    "tests/groundstation/receivers/test_tlm_chain.py",
    "tests/groundstation/outputs/test_tlm_fixtures.py",
)
PPM_STREAM_TESTS = (
    "tests/groundstation/receivers/test_ppm_kernels.py",
    "tests/groundstation/receivers/test_ppm_ties.py",
    "tests/groundstation/receivers/test_ppm_stream.py",
    "tests/groundstation/receivers/test_ppm_receiver.py",
    "tests/groundstation/outputs/test_ppm_fixtures.py",
)
CARRIER_STREAM_TESTS = (
    "tests/groundstation/receivers/test_carrier_stream.py",
    "tests/groundstation/receivers/test_carrier.py",
)


@dataclass(frozen=True)
class Mutant:
    """One line changed.

    Attributes
    ----------
    name : str
        Short identifier.
    path : str
        Where the line lives (relative to the repository root); searched for if it moved.
    original : str
        The line's text, without its indentation.
    replacement : str
        The new text, indented as the original.
    tests : tuple of str
        Test files or folders to run (those missing from the checkout are skipped).
    """

    name: str
    path: str
    original: str
    replacement: str
    tests: tuple[str, ...]


F_PPM = "signals/formats/ppm.py"
F_TLM = "signals/formats/tlm.py"
F_FRAMES = "signals/formats/tlm_frames.py"
F_UPLINK = "signals/formats/uplink.py"

MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "ppm-line-marker",
        F_PPM,
        "LINE_MARKER_CHIPS: Final = (0, 4, 13, 31)",
        "LINE_MARKER_CHIPS: Final = (0, 4, 13, 30)",
        PPM_TESTS + INDEPENDENT,
    ),
    Mutant(
        "ppm-frame-marker",
        F_PPM,
        "FRAME_MARKER_CHIPS: Final = (0, 9, 24, 44)",
        "FRAME_MARKER_CHIPS: Final = (0, 9, 24, 43)",
        PPM_TESTS + INDEPENDENT,
    ),
    Mutant(
        "ppm-slot-first",
        F_PPM,
        "SLOT_FIRST_CHIP: Final = 50",
        "SLOT_FIRST_CHIP: Final = 51",
        PPM_TESTS + INDEPENDENT,
    ),
    Mutant(
        "ppm-slot-step",
        F_PPM,
        "SLOT_STEP_CHIPS: Final = 6",
        "SLOT_STEP_CHIPS: Final = 7",
        PPM_TESTS + INDEPENDENT,
    ),
    Mutant(
        "ppm-chip-rate",
        F_PPM,
        "CHIP_RATE_HZ: Final = 45_000.0",
        "CHIP_RATE_HZ: Final = 45_045.0",
        PPM_TESTS + INDEPENDENT,
    ),
    Mutant(
        "ppm-header-check-mod63",
        F_PPM,
        "return np.sum(values[..., : HEADER_PERIODS - 1], axis=-1) % N_LEVELS",
        "return np.sum(values[..., : HEADER_PERIODS - 1], axis=-1) % (N_LEVELS - 1)",
        PPM_TESTS + INDEPENDENT,
    ),
    Mutant(
        "ppm-calibration-order",
        F_PPM,
        "CALIBRATION_LEVELS: Final = (0, GREY_MAX)",
        "CALIBRATION_LEVELS: Final = (GREY_MAX, 0)",
        PPM_TESTS + INDEPENDENT,
    ),
    Mutant(
        "ppm-grey-rounding",
        "groundstation/outputs/ppm.py",
        "return ((g * 255 * 2 + GREY_MAX) // (2 * GREY_MAX)).astype(np.uint8)",
        "return ((g * 255) // GREY_MAX).astype(np.uint8)",
        PPM_TESTS,
    ),
    Mutant(
        "tlm-sync-bit",
        F_TLM,
        "SYNC_WORD: Final = 0xFAF320",
        "SYNC_WORD: Final = 0xFAF321",
        TLM_TESTS + INDEPENDENT,
    ),
    Mutant(
        "tlm-parity-even",
        F_FRAMES,
        "return 1 - (int(data).bit_count() & 1)",
        "return int(data).bit_count() & 1",
        TLM_TESTS,
    ),
    Mutant(
        "tlm-dedup-parity",
        "groundstation/receivers/tlm.py",
        "return int(np.sum(~words_parity_ok(words))), f.undetected_error_prob",
        "return int(np.sum(words_parity_ok(words))), f.undetected_error_prob",
        TLM_TESTS,
    ),
    Mutant(
        "tlm-battery-v-offset",
        F_TLM,
        'Channel("battery_v", 10, 1, _L, 0.1, 20.0, "V"),',
        'Channel("battery_v", 10, 1, _L, 0.1, 20.1, "V"),',
        TLM_TESTS,
    ),
    Mutant(
        "tlm-battery-a-zero",
        F_TLM,
        'Channel("battery_a", 11, 1, _L, 0.25, 0.0, "A", raw_zero=64),',
        'Channel("battery_a", 11, 1, _L, 0.25, 0.0, "A", raw_zero=63),',
        TLM_TESTS,
    ),
    Mutant(
        "tlm-n2-scale",
        F_TLM,
        'Channel("n2_pressure_b_mpa", 9, 1, _L, 0.125, 0.0, "MPa"),',
        'Channel("n2_pressure_b_mpa", 9, 1, _L, 0.25, 0.0, "MPa"),',
        TLM_TESTS,
    ),
    Mutant(
        "tlm-n2-a-scale",
        F_TLM,
        'Channel("n2_pressure_a_mpa", 8, 1, _L, 0.125, 0.0, "MPa"),',
        'Channel("n2_pressure_a_mpa", 8, 1, _L, 0.12, 0.0, "MPa"),',
        TLM_TESTS,
    ),
    Mutant(
        "tlm-solar-scale",
        F_TLM,
        'Channel("solar_array_a", 12, 1, _L, 0.1, 0.0, "A"),',
        'Channel("solar_array_a", 12, 1, _L, 0.11, 0.0, "A"),',
        TLM_TESTS,
    ),
    Mutant(
        "tlm-experiment-offset",
        F_TLM,
        'Channel("temp_experiment_c", 14, 1, _L, 1.0, -40.0, "°C"),',
        'Channel("temp_experiment_c", 14, 1, _L, 1.0, -41.0, "°C"),',
        TLM_TESTS,
    ),
    Mutant(
        "tlm-mag-x-scale",
        F_TLM,
        'Channel("mag_x_nt", 5, 2, _L, 0.005, 0.0, "nT", raw_zero=8192),',
        'Channel("mag_x_nt", 5, 2, _L, 0.05, 0.0, "nT", raw_zero=8192),',
        TLM_TESTS,
    ),
    Mutant(
        "tlm-mag-z-zero",
        F_TLM,
        'Channel("mag_z_nt", 9, 2, _L, 0.005, 0.0, "nT", raw_zero=8192),',
        'Channel("mag_z_nt", 9, 2, _L, 0.005, 0.0, "nT", raw_zero=8000),',
        TLM_TESTS,
    ),
    Mutant(
        "tlm-orbital-offset",
        F_TLM,
        'Channel("temp_orbital_c", 13, 1, _L, 1.0, -40.0, "°C"),',
        'Channel("temp_orbital_c", 13, 1, _L, 1.0, -39.0, "°C"),',
        TLM_TESTS,
    ),
    Mutant(
        "tlm-radiator-scale",
        F_TLM,
        'Channel("temp_radiator_c", 15, 1, _L, 1.5, -100.0, "°C"),',
        'Channel("temp_radiator_c", 15, 1, _L, 1.4, -100.0, "°C"),',
        TLM_TESTS,
    ),
    Mutant(
        "tlm-mag-zero",
        F_TLM,
        'Channel("mag_y_nt", 7, 2, _L, 0.005, 0.0, "nT", raw_zero=8192),',
        'Channel("mag_y_nt", 7, 2, _L, 0.005, 0.0, "nT", raw_zero=8191),',
        TLM_TESTS,
    ),
    Mutant(
        "tlm-word-position",
        F_TLM,
        'Channel("solar_array_a", 12, 1, _L, 0.1, 0.0, "A"),',
        'Channel("solar_array_a", 20, 1, _L, 0.1, 0.0, "A"),',
        TLM_TESTS,
    ),
    Mutant(
        "tlm-bit-rates",
        F_TLM,
        "BIT_RATES_BPS: Final[tuple[int, ...]] = (1, 2, 4, 8, 16, 32, 64, 128)",
        "BIT_RATES_BPS: Final[tuple[int, ...]] = (2, 4, 8, 16, 32, 64, 128)",
        TLM_TESTS + UPLINK_TESTS,
    ),
    Mutant(
        "tlm-subcarrier",
        F_TLM,
        "SUBCARRIER_HZ: Final = 1024.0",
        "SUBCARRIER_HZ: Final = 2048.0",
        TLM_TESTS + INDEPENDENT,
    ),
    Mutant(
        "tlm-beta",
        F_TLM,
        "MOD_INDEX_RAD: Final = 1.0",
        "MOD_INDEX_RAD: Final = 1.2",
        TLM_TESTS + LINK_TESTS,
    ),
    Mutant(
        "uplink-sync",
        F_UPLINK,
        "SYNC_WORD: Final[int] = 0xEB90",
        "SYNC_WORD: Final[int] = 0xEB91",
        UPLINK_TESTS,
    ),
    Mutant(
        "uplink-check-mod255",
        F_UPLINK,
        "return (opcode + argument) % 256",
        "return (opcode + argument) % 255",
        UPLINK_TESTS,
    ),
    Mutant(
        "uplink-tone",
        F_UPLINK,
        "TONE_OFFSET_HZ: Final[float] = 250.0",
        "TONE_OFFSET_HZ: Final[float] = 200.0",
        UPLINK_TESTS,
    ),
    Mutant(
        "uplink-opcode",
        F_UPLINK,
        "TAKE_IMAGE = 0x05",
        "TAKE_IMAGE = 0x07",
        UPLINK_TESTS,
    ),
    Mutant(
        "band-8cm",
        "signals/data/mars1.toml",
        "carrier_hz = 3691.04e6",
        "carrier_hz = 3691.0e6",
        LINK_TESTS,
    ),
    Mutant(
        "band-39cm",
        "signals/data/mars1.toml",
        "carrier_hz = 768966666.6666666  # 922.76 MHz x 5/6",
        "carrier_hz = 768966000.0  # 922.76 MHz x 5/6",
        LINK_TESTS,
    ),
    Mutant(
        "band-8cm-residual",
        "signals/data/mars1.toml",
        "max_residual_hz = 4000.0",
        "max_residual_hz = 2000.0",
        LINK_TESTS,
    ),
    # ------------------------------------------------ push-based receivers and their kernels
    Mutant(
        "tlm-stream-truncated-event",
        "groundstation/receivers/tlm.py",
        "events += self._truncated",
        "events += []",
        TLM_STREAM_TESTS,
    ),
    Mutant(
        "tlm-frontend-derotation-sign",
        "groundstation/receivers/tlm_frontend.py",
        "zi = xim * pr - xre * pi_",
        "zi = xim * pr + xre * pi_",
        TLM_STREAM_TESTS,
    ),
    Mutant(
        "tlm-frontend-subcarrier-step",
        "groundstation/receivers/tlm_frontend.py",
        "sc_step = two_pi * 1024.0 / fs",
        "sc_step = two_pi * 1023.0 / fs",
        TLM_STREAM_TESTS,
    ),
    Mutant(
        "tlm-frontend-carrier-bin-centre",
        "groundstation/receivers/tlm_frontend.py",
        "centre = n_first + i - 0.5 * m_c - 0.5",
        "centre = n_first + i - 0.5 * m_c",
        TLM_STREAM_TESTS,
    ),
    Mutant(
        "tlm-frontend-reference-centre",
        "groundstation/receivers/tlm_frontend.py",
        "centres = (np.arange(k_end - c_sums.size, k_end) + 0.5) * m_c - 0.5",
        "centres = (np.arange(k_end - c_sums.size, k_end) + 0.5) * m_c",
        TLM_STREAM_TESTS,
    ),
    Mutant(
        "carrier-stream-block-start",
        "groundstation/receivers/carrier.py",
        "first = self._next_block - self._block",
        "first = self._next_block - self._block + 1",
        CARRIER_STREAM_TESTS,
    ),
    Mutant(
        "carrier-stream-delay",
        "groundstation/receivers/carrier.py",
        "return 0.5 * (self.decimation - 1) / self.fs_hz",
        "return 0.5 * self.decimation / self.fs_hz",
        CARRIER_STREAM_TESTS,
    ),
    Mutant(
        "ppm-stream-skipped-tail",
        "groundstation/receivers/ppm.py",
        "if cursor < self.buffer.fed:",
        "if cursor < self.buffer.fed - 1:",
        PPM_STREAM_TESTS,
    ),
    Mutant(
        "ppm-slot-tie",
        "groundstation/receivers/ppm_kernels.py",
        "if e > best[g]:",
        "if e >= best[g]:",
        PPM_STREAM_TESTS,
    ),
    Mutant(
        "ppm-scan-second-smallest",
        "groundstation/receivers/ppm_scan.py",
        "second = min(max(lo1, lo2), min(hi1, hi2))",
        "second = max(max(lo1, lo2), min(hi1, hi2))",
        PPM_STREAM_TESTS,
    ),
    Mutant(
        "ppm-scan-threshold-or",
        "groundstation/receivers/ppm_scan.py",
        "at = np.flatnonzero((total > sum_min) & (low > each_min))",
        "at = np.flatnonzero((total > sum_min) | (low > each_min))",
        PPM_STREAM_TESTS,
    ),
    Mutant(
        "link-boltzmann",
        "signals/path/link_budget.py",
        "BOLTZMANN_J_PER_K: Final = 1.380649e-23",
        "BOLTZMANN_J_PER_K: Final = 1.38e-23",
        LINK_TESTS,
    ),
)


# ---------------------------------------------------------------------------- applying


@dataclass
class Located:
    """Where a mutant's line was found: the file and the line's index in it."""

    path: Path
    index: int


def _lines_matching(path: Path, text: str) -> list[int]:
    try:
        lines = path.read_bytes().decode("utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    return [i for i, line in enumerate(lines) if line.strip() == text]


def locate(root: Path, mutant: Mutant) -> Located | str:
    """The one line of ``mutant`` under ``root``, or why it cannot be applied."""
    hinted = root / mutant.path
    found = _lines_matching(hinted, mutant.original) if hinted.is_file() else []
    if len(found) == 1:
        return Located(hinted, found[0])
    if len(found) > 1:
        return f"{len(found)} matching lines in {mutant.path}"
    hits = [
        (path, i)
        for folder in SEARCH_DIRS
        for path in sorted((root / folder).rglob("*"))
        if path.suffix in SEARCH_SUFFIXES and "__pycache__" not in path.parts
        for i in _lines_matching(path, mutant.original)
    ]
    if len(hits) == 1:
        return Located(*hits[0])
    if not hits:
        return "line not found"
    return "line found in " + ", ".join(sorted({str(p.relative_to(root)) for p, _ in hits}))


def mutated_text(text: str, index: int, mutant: Mutant) -> str:
    """``text`` with line ``index`` replaced, its indentation and line ending kept."""
    lines = text.splitlines(keepends=True)
    line = lines[index]
    indent = line[: len(line) - len(line.lstrip())]
    ending = line[len(line.rstrip("\r\n")) :]
    lines[index] = indent + mutant.replacement + ending
    return "".join(lines)


# ---------------------------------------------------------------------------- running


@dataclass
class Outcome:
    """What the tests did with one mutant."""

    name: str
    status: str  # caught, SURVIVED, timeout, not applied, error
    seconds: float
    where: str
    detail: str = ""


def run_tests(root: Path, tests: list[str], timeout_s: float) -> tuple[str, str, float]:
    """Run pytest in ``root``; return (status, last line of output, seconds)."""
    env = dict(os.environ, PYTHONPATH=str(root), MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1")
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests]
    start = time.monotonic()
    try:
        result = subprocess.run(
            command, cwd=root, env=env, capture_output=True, text=True, timeout=timeout_s
        )
    except subprocess.TimeoutExpired:
        return "timeout", f"no result within {timeout_s:g} s", time.monotonic() - start
    seconds = time.monotonic() - start
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    last = lines[-1] if lines else result.stderr.strip().splitlines()[-1:] or ""
    status = {0: "SURVIVED", 1: "caught", 2: "caught"}.get(result.returncode, "error")
    return status, str(last), seconds


def check_mutant(root: Path, mutant: Mutant, *, full: bool, timeout_s: float) -> Outcome:
    """Apply ``mutant`` in the copy ``root``, run its tests, restore the file."""
    where = locate(root, mutant)
    if isinstance(where, str):
        return Outcome(mutant.name, "not applied", 0.0, mutant.path, where)
    tests = [] if full else [t for t in mutant.tests if (root / t).exists()]
    original = where.path.read_bytes()
    mutated = mutated_text(original.decode("utf-8"), where.index, mutant)
    where.path.write_bytes(mutated.encode("utf-8"))
    try:
        status, detail, seconds = run_tests(root, tests, timeout_s)
    finally:
        where.path.write_bytes(original)
    relative = f"{where.path.relative_to(root)}:{where.index + 1}"
    return Outcome(mutant.name, status, seconds, relative, detail)


def copy_repository(source: Path, target: Path) -> Path:
    """Copy ``source`` (without git data, caches or outputs) to ``target/repo``."""
    destination = target / "repo"
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns(*IGNORED))
    return destination


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Apply one-line mutations to a copy of the repository; report which the "
        "tests catch."
    )
    parser.add_argument("--repo", type=Path, default=REPO_ROOT, help="checkout to copy")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run these mutants only")
    parser.add_argument("--full", action="store_true", help="whole test suite per mutant")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per mutant")
    parser.add_argument("--json", type=Path, help="also write the outcomes to this file")
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    args = parser.parse_args(argv)

    mutants = list(MUTANTS)
    if args.only:
        unknown = sorted(set(args.only) - {m.name for m in MUTANTS})
        if unknown:
            print(f"unknown mutant(s): {', '.join(unknown)}", file=sys.stderr)
            return 2
        mutants = [m for m in MUTANTS if m.name in args.only]
    if args.list:
        for m in mutants:
            print(f"{m.name:24s} {m.path}: {m.original!r} -> {m.replacement!r}")
        return 0
    if not (args.repo / "signals").is_dir() or not (args.repo / "tests").is_dir():
        print(f"{args.repo} is not a checkout of this repository", file=sys.stderr)
        return 2

    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="mars1-mutants-") as tmp:
        root = copy_repository(args.repo.resolve(), Path(tmp))
        for mutant in mutants:
            outcome = check_mutant(root, mutant, full=args.full, timeout_s=args.timeout)
            outcomes.append(outcome)
            print(
                f"{outcome.status:11s} {outcome.name:24s} {outcome.seconds:6.1f} s  "
                f"{outcome.where}  {outcome.detail}",
                flush=True,
            )
    applied = [o for o in outcomes if o.status != "not applied"]
    caught = sum(o.status == "caught" for o in applied)
    print(f"\n{caught} of {len(applied)} mutants caught", end="")
    skipped = len(outcomes) - len(applied)
    print(f" ({skipped} not applied)" if skipped else "")
    if args.json:
        args.json.write_text(json.dumps([o.__dict__ for o in outcomes], indent=2) + "\n")
    return 0 if caught == len(applied) else 1


if __name__ == "__main__":
    sys.exit(main())
