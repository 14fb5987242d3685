"""SigMF keys: one constant per key, and every key the station writes is one of them."""

from __future__ import annotations

import json
import re
from pathlib import Path

from groundstation.decode import decode_recording
from groundstation.io import keys

ROOT = Path(__file__).resolve().parents[3]
CONSTANTS = {v for k, v in vars(keys).items() if k.isupper() and isinstance(v, str)}


def test_constants_are_distinct_and_namespaced():
    names = {k: v for k, v in vars(keys).items() if k.isupper() and isinstance(v, str)}
    values = [v for v in names.values() if ":" in v]
    assert len(values) == len(set(values))
    assert all(v.startswith(("core:", "mars1:")) for v in values)


def test_every_key_in_a_decoded_metadata_file_is_a_constant(tmp_path):
    for kind, name in (("tlm", "tlm32cm_128bps_9k6_cut"), ("ppm", "ppm_fade_90k")):
        out = tmp_path / name
        decode_recording(ROOT / "fixtures" / kind / name, out, show_progress=False)
        meta = json.loads((out / f"{name}.sigmf-meta").read_text())
        used = set(meta[keys.GLOBAL]) | set(meta[keys.CAPTURES][0])
        for annotation in meta[keys.ANNOTATIONS]:
            used |= set(annotation)
        assert used <= CONSTANTS, used - CONSTANTS


def test_no_key_literal_outside_the_keys_module():
    literal = re.compile(r"""["'](?:core|mars1):[a-z_0-9]+["']""")
    owned = [
        *(ROOT / "groundstation" / "receivers").glob("*.py"),
        *(
            ROOT / "groundstation" / "outputs" / f"{n}.py"
            for n in ("ppm", "tlm", "carrier", "records")
        ),
        *(ROOT / "groundstation" / "io").glob("*.py"),
        ROOT / "groundstation" / "decode.py",
        *(ROOT / "groundstation" / "results").glob("*.py"),
    ]
    found = {
        str(p.relative_to(ROOT)): literal.findall(p.read_text())
        for p in owned
        if p.name != "keys.py"
    }
    assert {p: f for p, f in found.items() if f} == {}
