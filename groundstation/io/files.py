"""Atomic outputs: a reader never sees a half-written file or a mixed result set.

Every writer goes through :func:`atomic_path`: the content is written to a temporary file in
the destination folder and renamed over the destination only once complete. A command that
writes a set of files (``decode``, ``contact``, ``mission``) writes them into a staging
folder beside the target (:func:`staged_folder`) and swaps it in whole, under a lock, so the
target holds the earlier set or the new one, never a mix.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import shutil
import signal
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from groundstation.errors import OutputError

#: The signals that interrupt a run (the command line turns each into a clean exit).
INTERRUPT_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP back while the block runs; deliver them after.

    Wraps the few steps that must not be cut in two: creating a temporary file and
    taking charge of it, or swapping a result folder in.
    """
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, INTERRUPT_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def leave_interrupts_to_main_thread() -> None:
    """Block SIGINT, SIGTERM and SIGHUP in the calling (worker) thread, for good.

    The kernel hands a process's signal to any thread that does not block it; only the
    main thread runs Python's handlers, and one busy in a wait may not see a signal that
    landed in a worker until the wait ends. A worker that calls this first leaves every
    interrupt to the main thread, which is woken by it at once.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, INTERRUPT_SIGNALS)


def run_pending_interrupts() -> None:
    """In the main thread: run now the handler of an interrupt that landed in another thread.

    A signal the kernel gave to a thread that is not the main one (a library's worker) is
    noted, and its Python handler runs when the main thread next looks, which a main thread
    that mostly waits may not do for long. Changing the signal mask (here by an empty set)
    makes the interpreter look at once. Call it from a loop that waits in short steps.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, ())


@contextlib.contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` on success.

    On any exception (``KeyboardInterrupt`` included) the temporary file is removed and
    ``path`` is left as it was.
    """
    path = Path(path)
    if path.is_dir():  # said of the path asked for, not of the temporary file
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp: Path | None = None
    try:
        with signals_deferred():
            fd, tmp_name = tempfile.mkstemp(
                prefix=f".{path.name}.", suffix=".part", dir=path.parent
            )
            os.close(fd)
            tmp = Path(tmp_name)
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: Path | str, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "isoformat"):
        return obj.isoformat().replace("+00:00", "Z")
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")


def to_json(obj: Any, *, indent: int | None = 2) -> str:
    """Serialise ``obj`` as JSON, accepting numpy scalars/arrays, paths and datetimes.

    Non-finite floats are written as ``null`` so the output stays standard JSON.
    """
    return json.dumps(_finite(obj), indent=indent, default=_json_default, allow_nan=False)


def _finite(obj: Any) -> Any:
    if isinstance(obj, float | np.floating):
        return float(obj) if np.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def write_json(path: Path | str, obj: Any) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    return write_text(path, to_json(obj) + "\n")


def write_png_gray(path: Path | str, image: np.ndarray) -> Path:
    """Write a 2-D ``uint8`` array as an 8-bit greyscale PNG, atomically."""
    image = np.asarray(image)
    if image.ndim != 2 or image.dtype != np.uint8:
        raise ValueError(f"expected a 2-D uint8 array, got {image.dtype} with shape {image.shape}")
    from PIL import Image  # only where images are written: a telemetry decode writes none

    with atomic_path(path) as tmp:
        Image.fromarray(image, mode="L").save(tmp, format="PNG")
    return Path(path)


# ------------------------------------------------------------------------------ result sets

#: Name of the marker file written into every result folder.
RESULT_MARKER = ".mars1-results"


@contextlib.contextmanager
def folder_lock(target: Path) -> Iterator[None]:
    """Hold an exclusive lock on the result folder ``target`` (a ``.NAME.lock`` beside it).

    A second run into the same folder is refused at once rather than mixing its files with
    the first one's. The lock file is removed on release.

    Raises
    ------
    OutputError
        Another run holds the lock.
    """
    lock_path = target.parent / f".{target.name}.lock"
    while True:
        with signals_deferred():
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise OutputError(
                f"another run is writing {target}; wait for it or choose another output folder"
            ) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(lock_path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the holder before us removed the file: lock the new one
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock_path)
        os.close(fd)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if result == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _check_replaceable(target: Path, own_files: Iterable[str], inputs: Iterable[Path]) -> None:
    """Refuse a target folder that holds anything but an earlier result set."""
    if not target.exists():
        return
    if not target.is_dir():
        raise OutputError(f"output {target} exists and is not a folder")
    resolved = target.resolve()
    for source in inputs:
        if resolved in Path(source).resolve().parents:
            raise OutputError(
                f"output folder {target} holds the input {Path(source).name}; inputs are "
                "never written: choose another output folder"
            )
    names = {p.name for p in target.iterdir()}
    if names and RESULT_MARKER not in names and not names & set(own_files):
        raise OutputError(
            f"output folder {target} holds other files; choose a new or empty folder "
            "(or the folder of an earlier run)"
        )


@contextlib.contextmanager
def live_folder(target: Path | str, *, own_files: Iterable[str] = ()) -> Iterator[Path]:
    """Hold ``target`` for a run that writes into it as it goes (``listen``).

    A fresh folder holding only the result marker is swapped in as ``target`` at once (an
    earlier result set is removed: a new run has begun), and the folder lock is held until
    the context ends; the caller then swaps its final set in whole (:func:`staged_folder`).

    Raises
    ------
    OutputError
        The target holds other files, or another run is writing it.
    """
    target = Path(target).absolute()
    own_files = list(own_files)
    target.parent.mkdir(parents=True, exist_ok=True)
    _check_replaceable(target, own_files, ())
    with folder_lock(target):
        _check_replaceable(target, own_files, ())
        with signals_deferred():
            fresh = Path(tempfile.mkdtemp(prefix=f".{target.name}.live-", dir=target.parent))
            (fresh / RESULT_MARKER).write_text(
                "A result folder of the Mars 1 ground station: a new run replaces it whole.\n",
                encoding="utf-8",
            )
            os.chmod(fresh, 0o777 & ~_umask())
            if target.exists() and _exchange(fresh, target):
                shutil.rmtree(fresh, ignore_errors=True)
            elif target.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
                os.replace(target, old / "set")
                os.replace(fresh, target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(fresh, target)
        yield target


@contextlib.contextmanager
def staged_folder(
    target: Path | str, *, own_files: Iterable[str] = (), inputs: Iterable[Path] = ()
) -> Iterator[Path]:
    """Yield a staging folder beside ``target``; on success swap it in as ``target``, whole.

    The target holds the earlier result set until the swap and the new one after it; on
    any exception (an interrupt included) the staging folder is removed and the earlier set
    is untouched. Two runs into one target: the second is refused (:func:`folder_lock`).

    Parameters
    ----------
    target : path
        The result folder. It must be absent, empty, or hold an earlier result set (the
        marker file or one of ``own_files``).
    own_files : iterable of str
        Names that identify an earlier result set of the same command (``summary.json``).
    inputs : iterable of path
        Input files; a target folder that holds one is refused (inputs are never written).

    Raises
    ------
    OutputError
        The target holds other files or an input, or another run is writing it.
    """
    target = Path(target).absolute()
    inputs = list(inputs)
    own_files = list(own_files)
    target.parent.mkdir(parents=True, exist_ok=True)
    _check_replaceable(target, own_files, inputs)
    with folder_lock(target):
        _check_replaceable(target, own_files, inputs)
        staging: Path | None = None
        try:
            with signals_deferred():
                staging = Path(
                    tempfile.mkdtemp(prefix=f".{target.name}.staging-", dir=target.parent)
                )
            (staging / RESULT_MARKER).write_text(
                "A result folder of the Mars 1 ground station: a new run replaces it whole.\n",
                encoding="utf-8",
            )
            yield staging
            os.chmod(staging, 0o777 & ~_umask())
            with signals_deferred():
                if target.exists() and _exchange(staging, target):
                    pass  # staging now holds the earlier set, removed below
                elif target.exists():
                    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
                    os.replace(target, old / "set")
                    os.replace(staging, target)
                    staging = old
                else:
                    os.replace(staging, target)
                    staging = None
        finally:
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
