"""Build the receivers' kernels ahead of time (``python -m groundstation.receivers.build_kernels``).

Installing the package runs this (``setup.py``); run it by hand after changing a kernel in an
editable install, or let numba compile the changed kernels on first use, as it then does.

Every kernel declared with :func:`~groundstation.receivers.compiled.kernel` in
:data:`~groundstation.receivers.compiled.KERNEL_MODULES` is compiled by numba, for each
argument signature it declares, into one extension module in ``DIR`` named by
:func:`~groundstation.receivers.compiled.build_name`; older builds there are removed. The
compilation is numba's own, with what its first-use compilation has and its ahead-of-time
compiler does not do by itself: the host CPU's features, each kernel's ``fastmath`` options
and the interpreter lock released during the call (``nogil``). It needs numba and a C
compiler; without them it exits 1 and the kernels are compiled on first use instead.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import warnings
from pathlib import Path

from groundstation.receivers import compiled


def _compile_as_on_first_use() -> None:
    """Make numba's ahead-of-time compiler compile as its first-use compiler does."""
    from numba.core import codegen
    from numba.core.cpu import FastMathOptions
    from numba.pycc import compiler as pycc_compiler

    options_of = {spec.function: spec.options for spec in compiled.REGISTRY}
    compile_extra = pycc_compiler.compile_extra

    def compile_like_jit(typingctx, targetctx, func, args, return_type, flags, locals, **kw):
        flags = flags.copy()
        flags.release_gil = True
        flags.fastmath = FastMathOptions(options_of[func].get("fastmath", False))
        return compile_extra(typingctx, targetctx, func, args, return_type, flags, locals, **kw)

    pycc_compiler.compile_extra = compile_like_jit
    codegen.AOTCPUCodegen._customize_tm_features = lambda self: self._get_host_cpu_features()


def build(output_dir: Path) -> Path:
    """Compile every declared kernel into ``output_dir``; return the extension's path."""
    if compiled.build_loaded():
        raise RuntimeError(f"set {compiled.NO_AOT_ENV}=1: the kernels must be numba's to build")
    from numba.core import sigutils
    from numba.core.errors import NumbaPendingDeprecationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumbaPendingDeprecationWarning)
        from numba.pycc import CC

    for name in compiled.KERNEL_MODULES:
        importlib.import_module(f"{compiled.__package__}.{name}")
    _compile_as_on_first_use()
    name = compiled.build_name()
    cc = CC(name)
    cc.output_dir = str(output_dir)
    cc.target_cpu = "host"
    for spec in compiled.REGISTRY:
        dispatcher = getattr(sys.modules[spec.module], spec.name)
        for index, text in enumerate(spec.signatures):
            args, _ = sigutils.normalize_signature(f"void({text})")
            dispatcher.compile(args)
            signature = dispatcher.overloads[tuple(args)].signature
            cc.export(spec.symbol(index), signature)(spec.function)
    output_dir.mkdir(parents=True, exist_ok=True)
    cc.compile()
    built = output_dir / cc.output_file
    for old in output_dir.glob(f"{compiled.BUILD_PREFIX}*"):
        if old != built:
            old.unlink()
    return built


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m groundstation.receivers.build_kernels",
        description="Build the receivers' kernels ahead of time into DIR.",
    )
    parser.add_argument(
        "dir",
        type=Path,
        nargs="?",
        default=Path(compiled.__file__).parent,
        help="where the extension module goes (default: beside the kernels)",
    )
    args = parser.parse_args(argv)
    os.environ[compiled.NO_AOT_ENV] = "1"  # the kernels as numba compiles them, not a build
    compiled._build.cache_clear()
    start = time.perf_counter()
    try:
        built = build(args.dir)
    except Exception as exc:  # any failure means: the kernels are compiled on first use
        print(f"kernels not built ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 1
    kernels = sum(len(spec.signatures) for spec in compiled.REGISTRY)
    print(f"built {kernels} kernels into {built} in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
