"""The kernels built ahead of time: declared types, the argument check, the build's name, and
the build against numba's first-use compilation (the same numbers, no numba in the process).

Where the package was installed with a C compiler the build exists; ``MARS1_REQUIRE_BUILD=1``
(set by CI) turns its absence into a failure instead of skipped tests.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from groundstation.receivers import compiled, ppm_kernels, tlm_carrier
from groundstation.receivers.compiled import ArgType, parse_arguments

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "fixtures"
REQUIRE_ENV = "MARS1_REQUIRE_BUILD"

needs_build = pytest.mark.skipif(
    not compiled.build_loaded() and os.environ.get(REQUIRE_ENV) != "1",
    reason="no ahead-of-time build of the kernels (installed without a C compiler?)",
)


def test_build_is_there_where_required() -> None:
    if os.environ.get(REQUIRE_ENV) != "1":
        pytest.skip(f"{REQUIRE_ENV} is not set")
    assert compiled.build_loaded(), f"no {compiled.build_name()} beside {compiled.__file__}"


def test_argument_types_are_read_as_numba_names_them() -> None:
    f4, f8, c8, i8 = (np.dtype(t) for t in (np.float32, np.float64, np.complex64, np.int64))
    assert parse_arguments("f4[::1], f8, c8[:, ::1], i8[:], b1") == (
        ArgType(f4, 1, True),
        ArgType(f8, 0, False),
        ArgType(c8, 2, True),
        ArgType(i8, 1, False),
        ArgType(np.dtype(np.bool_), 0, False),
    )
    for bad in ("f4[::1], x9", "f4[::2]", "f8[::1, :]", "f8[::1] f8"):
        with pytest.raises(ValueError):
            parse_arguments(bad)


def test_every_declared_signature_is_readable() -> None:
    for spec in compiled.REGISTRY:
        for text in spec.signatures:
            assert parse_arguments(text), (spec.name, text)


def test_arguments_are_checked_as_numba_would_type_them() -> None:
    array, scalar, f4 = parse_arguments("f8[:, ::1], f8, f4")
    x = np.zeros((3, 4))
    assert array.accepts(x)
    assert not array.accepts(x.T)  # not C-contiguous
    assert not array.accepts(x[0])  # 1-D
    assert not array.accepts(x.astype(np.float32))
    assert not array.accepts(x.astype(">f8"))  # byte order
    assert not array.accepts(x.tolist())
    assert scalar.accepts(1.5) and scalar.accepts(np.float64(1.5))
    assert not scalar.accepts(1) and not scalar.accepts(np.float32(1.5))
    assert f4.accepts(np.float32(1.5)) and not f4.accepts(1.5)
    count, flag = parse_arguments("i8, b1")
    assert count.accepts(3) and count.accepts(np.int64(3))
    assert not count.accepts(True) and not count.accepts(3.0) and not count.accepts(np.int32(3))
    assert flag.accepts(True) and flag.accepts(np.bool_(False)) and not flag.accepts(1)
    (strided,) = parse_arguments("f8[:, :]")
    assert strided.accepts(x.T) and not strided.accepts(x[0])
    assert not array.accepts(x.view(_Subclass))  # as a memory map is: typed otherwise


class _Subclass(np.ndarray):
    pass


def test_the_build_is_named_by_its_sources(tmp_path, monkeypatch) -> None:
    here = Path(compiled.__file__).parent
    for name in ("compiled", *compiled.KERNEL_MODULES):
        shutil.copy(here / f"{name}.py", tmp_path / f"{name}.py")
    monkeypatch.setattr(compiled, "_HERE", tmp_path)
    same = compiled.build_name.__wrapped__()
    assert same == compiled.build_name()
    assert same.startswith(compiled.BUILD_PREFIX)
    with open(tmp_path / "tlm_carrier.py", "a") as f:
        f.write("\n# an edit\n")
    assert compiled.build_name.__wrapped__() != same


@needs_build
def test_other_argument_types_go_to_numbas_compilation() -> None:
    # a strided array is not what the build was made for: numba compiles the kernel (and the
    # one it calls) on first use, with the same sums
    rng = np.random.default_rng(3)
    x = rng.standard_normal(2000)
    assert tlm_carrier._pairwise_sum(x[::2]) == np.sum(x[::2])
    assert tlm_carrier._pairwise_sum(np.ascontiguousarray(x[::2])) == np.sum(x[::2])
    src = (rng.standard_normal(64) + 0j).astype(np.complex64).view(np.float32)
    dst = np.empty(src.size, np.float32)
    assert ppm_kernels._copy_finite_kernel(src, dst)
    assert np.array_equal(src, dst)


_DECODE = """
import json, sys
from pathlib import Path
from groundstation.decode import decode_recording
from groundstation.receivers import compiled
out = {"build": compiled.build_loaded()}
for meta in sys.argv[1:]:
    result = decode_recording(Path(meta), None, show_progress=False)
    out[meta] = repr(result)
out["numba"] = "numba" in sys.modules
print(json.dumps(out))
"""


def _decode_in_child(metas: list[Path], no_build: bool) -> dict:
    env = dict(os.environ, **{compiled.NO_AOT_ENV: "1" if no_build else "0"})
    env.pop("MARS1_NO_NUMBA", None)
    done = subprocess.run(
        [sys.executable, "-c", _DECODE, *map(str, metas)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@needs_build
def test_the_build_decodes_as_numba_does_without_numba() -> None:
    metas = sorted(FIXTURES.glob("*/*.sigmf-meta"))
    assert any("ppm" in m.name for m in metas) and any("tlm" in m.name for m in metas)
    built = _decode_in_child(metas, no_build=False)
    jit = _decode_in_child(metas, no_build=True)
    assert built.pop("build") and not jit.pop("build")
    assert not built.pop("numba"), "a decode fell back to numba: a signature is not declared"
    assert jit.pop("numba")
    for meta in map(str, metas):
        assert built[meta] == jit[meta], meta
