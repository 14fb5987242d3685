"""Installs the package (metadata in ``pyproject.toml``) and builds the receivers' kernels
ahead of time (:mod:`groundstation.receivers.build_kernels`).

The kernels are built with the numba of the build environment and a C compiler. Where that
fails, the installation still succeeds and numba compiles the kernels on first use, as it
would without a build: the results are the same, a process only starts slower.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


class BuildKernels(build_ext):
    """Builds the kernels' extension module beside their sources (in place for an editable
    install, else in the package being built)."""

    def run(self) -> None:
        base = ROOT if self.inplace else Path(self.build_lib)
        target = base / "groundstation" / "receivers"
        env = dict(os.environ, MARS1_NO_AOT="1")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
        command = [sys.executable, "-m", "groundstation.receivers.build_kernels", str(target)]
        try:
            done = subprocess.run(
                command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200
            )
        except (OSError, subprocess.SubprocessError) as exc:
            print(f"kernels not built ({exc}): numba compiles them on first use", flush=True)
            return
        lines = (done.stdout + done.stderr).strip().splitlines()
        print(lines[-1] if lines else f"kernel build exited {done.returncode}", flush=True)

    def get_outputs(self) -> list[str]:
        return [str(p) for p in Path(self.build_lib).glob("groundstation/receivers/_kernels_*")]


class WithKernels(Distribution):
    """A distribution with a compiled part (so that the kernels are built at all)."""

    def has_ext_modules(self) -> bool:
        return True


setup(cmdclass={"build_ext": BuildKernels}, distclass=WithKernels)
