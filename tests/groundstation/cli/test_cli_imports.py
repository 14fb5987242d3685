"""The command line imports only what the chosen command needs.

Building the parser (``--version``, ``--help``) imports no numerical, plotting, ephemeris
or cluster library; a decode imports neither the ephemeris nor the cluster, nor
scipy's special functions. Checked in a
fresh interpreter by listing ``sys.modules``: a correctness test, not a timing test
(bench/test_bench_cli.py measures the time).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]

#: Never needed to print a version or a command's help.
HEAVY = ("numpy", "scipy", "matplotlib", "skyfield", "sigmf", "PIL", "distributed", "numba")
#: Never imported by the process that decodes one recording of a downlink band: the
#: ephemeris, the cluster, matplotlib (the figures are drawn by a second process while
#: it decodes, groundstation.outputs.drawing) and scipy.special (0.3 s of CPU: the gamma
#: quantiles are signals.gamma's, the logistic tlm_bitsync's); jinja2 loads for the report page.
NOT_FOR_DECODE = ("skyfield", "distributed", "matplotlib", "scipy.special")


def _modules_after(code: str) -> set[str]:
    script = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.splitlines()[-1]))


def _main(*argv: str) -> str:
    return (
        "import contextlib, io\nfrom groundstation.cli.app import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    try:\n        main({list(argv)!r})\n    except SystemExit:\n        pass"
    )


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return [name for name in names if name in modules]


@pytest.mark.parametrize(
    "argv",
    [
        ("--version",),
        ("--help",),
        ("decode", "--help"),
        ("contact", "--help"),
        ("synth", "tlm", "--help"),
    ],
)
def test_parser_imports_nothing_heavy(argv):
    modules = _modules_after(_main(*argv))
    assert _loaded(modules, HEAVY) == []
    assert not any(name.startswith("groundstation.receivers") for name in modules)


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "MPLBACKEND": "Agg"}
    return subprocess.run(
        [sys.executable, "-m", "groundstation", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_help_and_errors_list_choices_read_where_they_are_defined():
    from signals.mission import SCENARIOS
    from signals.sources.images import IMAGE_SOURCES

    help_text = _cli("synth", "ppm", "--help").stdout
    assert all(name in help_text for name in IMAGE_SOURCES)
    assert all(name in _cli("contact", "--help").stdout for name in SCENARIOS)
    bad = _cli("synth", "ppm", "--source", "nowhere", "-o", "x")
    assert bad.returncode == 2
    assert "invalid choice: 'nowhere'" in bad.stderr
    assert "mars" in bad.stderr


@pytest.mark.parametrize(
    ("fixture", "figures"),
    [
        ("ppm/ppm_fade_90k", ("waterfall.png",)),
        ("tlm/tlm32cm_64bps", ("waterfall.png", "telemetry.png")),
        ("tlm/tlm1.6m_8bps_inverted", ("waterfall.png", "telemetry.png")),
    ],
)
def test_a_decode_imports_no_other_stage_nor_the_plotting(fixtures_dir, tmp_path, fixture, figures):
    meta = fixtures_dir / f"{fixture}.sigmf-meta"
    modules = _modules_after(_main("decode", str(meta), "-o", str(tmp_path / "out")))
    assert (tmp_path / "out" / "summary.json").exists()
    assert all((tmp_path / "out" / name).stat().st_size > 0 for name in figures)
    assert _loaded(modules, NOT_FOR_DECODE) == []


def test_the_report_page_loads_after_the_receiver(fixtures_dir, tmp_path):
    """jinja2 and PIL (the report page's) load while the figures and the hash finish, not
    before the decode: neither is loaded when a telemetry decode's receiver starts."""
    meta = fixtures_dir / "tlm/tlm32cm_64bps.sigmf-meta"
    watch = ("jinja2", "PIL", "groundstation.report")
    code = (
        "import groundstation.outputs.tlm as tlm\n"
        "decode, seen = tlm.decode_tlm_to_dir, []\n"
        "def watched(*args, **kwargs):\n"
        f"    seen.append([m for m in {watch!r} if m in sys.modules])\n"
        "    return decode(*args, **kwargs)\n"
        "tlm.decode_tlm_to_dir = watched\n"
        + _main("decode", str(meta), "-o", str(tmp_path / "out"))
        + "\nprint(json.dumps(seen))"
    )
    script = f"import json, sys\n{code}"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == [[]]
    assert (tmp_path / "out" / "report.html").exists()
