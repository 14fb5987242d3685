"""Compiled kernels: built ahead of time at install, or compiled by numba on first use.

Every compiled inner loop of the receivers is a plain Python function decorated with
:func:`kernel`, which names the argument types it is called with::

    @kernel("f4[::1], f8[::1], c8[:, ::1], f4[::1]", fastmath=_FASTMATH)
    def _window_energies_kernel(xf, positions, weights, out): ...

The names are numba's (``f4`` float32, ``c16`` complex128, ``i8`` int64, ``b1`` bool;
``[::1]`` a C-contiguous array, ``[:, ::1]`` a C-contiguous 2-D one). The decorator returns
one of three things:

- **the ahead-of-time build** (installing the package compiles every kernel of
  :data:`KERNEL_MODULES`, with numba, into one extension module beside this file; see
  :mod:`~groundstation.receivers.build_kernels`). Loading it takes a millisecond and
  imports neither numba nor LLVM: about 0.6 s of CPU and 120 MB less for every process
  that decodes. Each call checks its arguments against the types named (the build's
  entry points trust them); arguments of other types go to the compiled-on-first-use
  version instead, with the same results.
- **a numba dispatcher** (``numba.njit(cache=True, nogil=True, ...)``) where there is no
  build: numba is not at hand at install (no C compiler), the sources changed since the
  build (an editable install being worked on), the machine is not the one it was built for,
  or ``MARS1_NO_AOT=1``.
- **the function itself** where numba is not installed at all; the receivers then use their
  numpy references (:data:`COMPILED` is False).

The build is named by a digest of the kernels' sources, this file, the CPU's model and
features, the Python and the numpy major version (:func:`build_name`): a build that does
not match is never loaded. It is compiled with the host CPU's features and each kernel's own
floating-point options, as numba compiles on first use, so the two give the same numbers to
the bit (tested); it releases the interpreter lock as ``nogil=True`` does.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import os
import platform
import re
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np

#: Modules of this package that define kernels (their sources name the build).
KERNEL_MODULES: Final = (
    "ppm_kernels",
    "ppm_scan",
    "ppm_headers",
    "tlm_frontend",
    "tlm_carrier",
    "tlm_bitsync",
)
#: Environment variable that makes the receivers use their numpy references, not the kernels,
#: when set to ``1`` (:func:`active_kernel`).
NO_NUMBA_ENV: Final = "MARS1_NO_NUMBA"
#: Environment variable that ignores the ahead-of-time build when set to ``1``.
NO_AOT_ENV: Final = "MARS1_NO_AOT"
#: Prefix of the build's module name (the digest follows).
BUILD_PREFIX: Final = "_kernels_"

_HERE = Path(__file__).resolve().parent
_SCALARS: Final = {
    "b1": np.dtype(np.bool_),
    "i4": np.dtype(np.int32),
    "i8": np.dtype(np.int64),
    "u4": np.dtype(np.uint32),
    "u8": np.dtype(np.uint64),
    "f4": np.dtype(np.float32),
    "f8": np.dtype(np.float64),
    "c8": np.dtype(np.complex64),
    "c16": np.dtype(np.complex128),
}
_ARG = re.compile(r"\s*(?P<code>[a-z]+\d+)\s*(?:\[(?P<dims>[^\]]*)\])?\s*(?:,|$)")


@dataclass(frozen=True)
class ArgType:
    """One argument's type as a kernel names it: a scalar (``ndim`` 0) or an array."""

    dtype: np.dtype
    ndim: int
    contiguous: bool

    def checker(self) -> Callable[[object], bool]:
        """:meth:`accepts` as one small function, made once: what a call checks, argument by
        argument, for every kernel call (a method and its attribute lookups cost a few
        microseconds a call)."""
        dtype, ndim, contiguous = self.dtype, self.ndim, self.contiguous
        if ndim:
            ndarray = np.ndarray

            def check_array(value: Any) -> bool:
                return (
                    type(value) is ndarray
                    and value.ndim == ndim
                    and (value.dtype is dtype or value.dtype == dtype)
                    and (not contiguous or value.flags.c_contiguous)
                )

            return check_array
        kind = dtype.kind
        if kind == "b":
            return lambda value: isinstance(value, bool | np.bool_)

        def check_scalar(value: Any) -> bool:
            if isinstance(value, np.generic):
                return value.dtype == dtype
            if kind in "iu":
                return type(value) is int
            if kind == "f":
                return type(value) is float and dtype.itemsize == 8
            return type(value) is complex and dtype.itemsize == 16

        return check_scalar

    def accepts(self, value: object) -> bool:
        """True when ``value`` is of this type (as numba would type it, read-only aside)."""
        return self.checker()(value)


def parse_arguments(text: str) -> tuple[ArgType, ...]:
    """The argument types of a signature string (numba's names; see the module docstring)."""
    args = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _ARG.match(text, pos)
        if match is None or match.end() == pos or match["code"] not in _SCALARS:
            raise ValueError(f"cannot read kernel argument types {text!r} at {text[pos:]!r}")
        dims = match["dims"]
        if dims is None:
            args.append(ArgType(_SCALARS[match["code"]], 0, False))
        else:
            parts = [p.strip() for p in dims.split(",")]
            if any(p not in (":", "::1") for p in parts) or "::1" in parts[:-1]:
                raise ValueError(f"unsupported array layout [{dims}] in {text!r}")
            args.append(ArgType(_SCALARS[match["code"]], len(parts), parts[-1] == "::1"))
        pos = match.end()
    return tuple(args)


@dataclass
class KernelSpec:
    """A kernel as declared: its function, the argument types it is built for and numba's
    options for it (``fastmath``, ``inline``)."""

    module: str
    name: str
    function: Callable[..., Any]
    signatures: tuple[str, ...]
    options: dict[str, Any] = field(default_factory=dict)

    def symbol(self, index: int) -> str:
        """Name of the build's entry point for signature ``index``."""
        return f"{self.module.rsplit('.', 1)[-1]}__{self.name}__{index}"


#: Every kernel declared so far, in the order of declaration (the builder reads it).
REGISTRY: list[KernelSpec] = []


def _cpu_identity() -> bytes:
    """The CPU's model and feature flags as the system reports them (Linux), else the
    platform's description: a build made for other features is never loaded."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return f"{platform.machine()} {platform.processor()}".encode()
    wanted = ("model name", "flags", "Features", "CPU part", "isa")
    lines = []
    for line in text.splitlines():
        if not line.strip():
            break  # the first processor's block only
        if line.split(":", 1)[0].strip() in wanted:
            lines.append(line)
    return "\n".join(lines).encode()


@functools.cache
def build_name() -> str:
    """Module name of the build that matches these sources, this machine and this Python."""
    digest = hashlib.sha256()
    for name in ("compiled", *KERNEL_MODULES):
        digest.update((_HERE / f"{name}.py").read_bytes())
    digest.update(_cpu_identity())
    digest.update(sys.implementation.cache_tag.encode())
    digest.update(np.__version__.split(".")[0].encode())
    return BUILD_PREFIX + digest.hexdigest()[:16]


@functools.cache
def _build() -> types.ModuleType | None:
    if os.environ.get(NO_AOT_ENV, "") == "1":
        return None
    try:
        return importlib.import_module(f"{__package__}.{build_name()}")
    except ImportError:
        return None


@functools.cache
def _numba() -> types.ModuleType | None:
    try:
        import numba
    except ImportError:  # pragma: no cover - numba is a dependency
        return None
    return numba


def build_loaded() -> bool:
    """True when the kernels come from the ahead-of-time build."""
    return _build() is not None


#: True when the kernels are compiled one way or the other (else the numpy references run).
COMPILED: Final = build_loaded() or _numba() is not None


def active_kernel() -> str:
    """``"numba"`` or ``"numpy"``: the implementation the receivers use now (the kernels,
    built or compiled by numba, unless there are none or ``MARS1_NO_NUMBA=1``)."""
    if COMPILED and os.environ.get(NO_NUMBA_ENV, "") != "1":
        return "numba"
    return "numpy"


class BuiltKernel:
    """A kernel of the ahead-of-time build: the entry point whose declared types the
    arguments have, or the compiled-on-first-use version for any others."""

    def __init__(self, spec: KernelSpec, entries: list[tuple[tuple[ArgType, ...], Callable]]):
        self.spec = spec
        self.py_func = spec.function
        self._entries = [(tuple(t.checker() for t in types_), entry) for types_, entry in entries]
        self._jit: Callable | None = None
        functools.update_wrapper(self, spec.function)

    def __call__(self, *args):
        for checks, entry in self._entries:
            if len(args) == len(checks):
                for check, value in zip(checks, args, strict=True):
                    if not check(value):
                        break
                else:
                    return entry(*args)
        return self.jit()(*args)

    def jit(self) -> Callable:
        """numba's compiled-on-first-use version (the kernels it calls compiled alike)."""
        if self._jit is None:
            numba = _numba()
            if numba is None:  # pragma: no cover - numba builds the build
                raise RuntimeError(f"{self.spec.name}: no build for these arguments, no numba")
            scope = dict(self.py_func.__globals__)
            for key in self.py_func.__code__.co_names:  # the kernels this one calls
                value = scope.get(key)
                if isinstance(value, BuiltKernel) and value is not self:
                    scope[key] = value.jit()
            func = types.FunctionType(
                self.py_func.__code__,
                scope,
                self.py_func.__name__,
                self.py_func.__defaults__,
                self.py_func.__closure__,
            )
            self._jit = numba.njit(nogil=True, **self.spec.options)(func)
            scope[self.spec.name] = self._jit
        return self._jit


def kernel(*signatures: str, **options: Any) -> Callable[[Callable], Any]:
    """Declare a kernel (see the module docstring).

    Parameters
    ----------
    *signatures : str
        The argument types of each way the receivers call it (numba's names, comma
        separated); none for a kernel that only other kernels call.
    **options
        numba's options for it besides ``cache`` and ``nogil`` (``fastmath``, ``inline``).
    """

    def declare(function: Callable) -> Any:
        spec = KernelSpec(
            function.__module__, function.__name__, function, signatures, dict(options)
        )
        REGISTRY.append(spec)
        build = _build()
        if build is not None:
            entries = [
                (parse_arguments(text), getattr(build, spec.symbol(i)))
                for i, text in enumerate(signatures)
            ]
            return BuiltKernel(spec, entries)
        numba = _numba()
        if numba is None:  # pragma: no cover - numba is a dependency
            return function
        return numba.njit(cache=True, nogil=True, **options)(function)

    return declare
