"""Figures drawn beside the decode, in a second process, while the receiver runs.

A decode's figures (``waterfall.png``, ``telemetry.png``) cost as much as the decode itself
on a long recording, most of it matplotlib: its import and the drawing. Within
:func:`figures_aside` they are drawn by a second Python process (``python -m
groundstation.outputs.drawing``) that imports matplotlib while the first one reads and
decodes, and draws each figure as soon as its data is there; on a machine with two cores the
two run side by side. It imports matplotlib without the property tables of its artists'
docstrings (:func:`~groundstation.outputs.figures.import_matplotlib_for_drawing`), a quarter
of the import. While no figure waits, it readies what the next one needs (a
throwaway figure: the imports, the fonts, the PNG encoder); once told there are no more, it
ends without the interpreter's teardown (a tenth of a second or more with matplotlib
loaded), which the first process would wait for. The figures are the same, pixel for
pixel: the second process calls the same functions.

Outside :func:`figures_aside`, :func:`draw_png` draws at once in the calling process, as
before. The decoders call :func:`draw_png` and need not know which happens. ``contact``
hands over every figure of its session the same way, the report's too (into a folder the
report then embeds), and :func:`flush_figures` waits for those handed over so far while
the process stays for more.

A job is a figure's name in :data:`FIGURES`, the PNG's path and its plain data (arrays,
dataclasses); it goes to the second process as a pickle in a temporary folder of the first,
which names only the file on the pipe (a pipe holds 64 KiB: a waterfall would block the
decode until the second process has finished importing). A figure the second process could
not draw (it died, it failed) is drawn by the first one when it waits
(:meth:`FigureProcess.wait`): the outputs are the same whatever happens to it. The second
process ignores the interrupt signals (the first one decides); a first process that ends
early kills it and waits for it, so nothing is written into a folder after it was removed.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import pickle
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Final

log = logging.getLogger(__name__)

#: The figures a job may name: name -> (module, function). Each function takes the PNG's
#: path first, then the figure's data, and writes the PNG atomically.
FIGURES: Final = {
    "telemetry": ("groundstation.outputs.figures", "write_telemetry_png"),
    "waterfall": ("groundstation.outputs.figures", "write_waterfall_png"),
    "spectrum": ("groundstation.outputs.figures", "write_carrier_spectrum_png"),
    "margin": ("groundstation.outputs.figures", "write_margin_png"),
    "telemetry_panels": ("groundstation.outputs.figures", "write_telemetry_figure_png"),
}
#: Parts the second process makes ahead, while it waits, for a figure announced
#: (:func:`expect_figure`): figure name -> (module, function) returning the part, passed to
#: the figure's function as ``grid``. Figures with the same maker share its parts. The
#: maker is given a function saying whether a job is waiting (then it stops short).
SPARES: Final = {
    "telemetry": ("groundstation.outputs.figures", "spare_telemetry_grid"),
    "telemetry_panels": ("groundstation.outputs.figures", "spare_telemetry_grid"),
}
#: Longest wait for the second process to finish its figures (s); past it, it is killed
#: and the figures it had not drawn are drawn by the first.
WAIT_S: Final = 300.0
#: Figures queued for the second process, not started, from which the first one, once it
#: waits for them, takes the last to draw itself: with fewer queued the second one is done
#: before the first has imported matplotlib.
TAKE_MIN_QUEUED: Final = 2

_ACTIVE: ContextVar[FigureProcess | None] = ContextVar("figure_process", default=None)


def _figure_function(name: str) -> Any:
    module, function = FIGURES[name]
    return getattr(importlib.import_module(module), function)


def draw_png(name: str, path: Path | str, *args: Any) -> None:
    """Draw figure ``name`` of :data:`FIGURES` into ``path`` (PNG, atomically).

    Within :func:`figures_aside` the second process draws it and the call returns at once
    (the PNG is there once :meth:`FigureProcess.wait` has returned); elsewhere it is drawn
    now.
    """
    process = _ACTIVE.get()
    if process is None:
        _figure_function(name)(Path(path), *args)
    else:
        process.submit(name, Path(path), *args)


class FigureProcess:
    """A second process drawing figures; see the module docstring.

    Submit jobs with :meth:`submit`, then :meth:`wait` for all of them (every PNG written,
    by the second process or, for any it did not write, by this one); :meth:`close` kills
    the process if it is still running (an early end).

    With ``share`` (``contact``: a session's dozen figures) this process, waiting, draws
    some of those queued (:meth:`flush`); without it (a decode: two figures at most) it
    draws only those the second process did not, and never imports matplotlib otherwise:
    its memory and start stay the decode's own. With ``lighter_matplotlib`` (a command's
    own process, never a library caller's) this process, drawing, imports matplotlib as
    the second one does (:func:`~groundstation.outputs.figures.import_matplotlib_for_drawing`).
    """

    def __init__(self, *, share: bool = True, lighter_matplotlib: bool = False) -> None:
        self._share = share
        self._lighter_matplotlib = lighter_matplotlib
        self._folder = Path(tempfile.mkdtemp(prefix="mars1-figures-"))
        self._jobs: list[tuple[str, Path, tuple[Any, ...]]] = []
        self._replies: set[bytes] = set()  # the jobs it has answered for (drawn or failed)
        self._drawn: set[bytes] = set()
        self._pending = b""
        self._anonymous = 0  # figures announced without their path (expect)
        env = {**os.environ, "MPLBACKEND": "Agg"}
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        try:
            self._process: subprocess.Popen[bytes] | None = subprocess.Popen(
                [sys.executable, "-m", "groundstation.outputs.drawing"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
            )
        except OSError as exc:  # no second process: every figure is drawn here
            log.debug("figures drawn in this process: %s", exc)
            self._process = None

    def submit(self, name: str, path: Path, *args: Any) -> None:
        """Hand the figure ``name`` of ``args`` to the second process, to be written to
        ``path``."""
        job = (name, Path(path), args)
        self._jobs.append(job)
        if self._process is None:
            return
        file = self._folder / f"{len(self._jobs) - 1}.pickle"
        with open(file, "wb") as out:
            pickle.dump(job, out, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            assert self._process.stdin is not None
            self._process.stdin.write(os.fsencode(file) + b"\n")
            self._process.stdin.flush()
        except OSError:  # it died: what it did not draw is drawn by wait()
            pass

    def expect(self, name: str, path: Path | str | None = None) -> None:
        """Tell the second process that figure ``name`` will come, to be written to
        ``path``: while it waits it makes ready what it can of it (:data:`SPARES`).

        Without ``path`` the figure is announced before its path is known (a command that
        knows early which figures it will draw, not yet where): the first one announced
        later with its path is counted as this one, not as another.
        """
        if self._process is None or name not in SPARES:
            return
        if path is None:
            self._anonymous += 1
            key = b"?%d" % self._anonymous
        else:
            key = _key(path)
        try:
            assert self._process.stdin is not None
            self._process.stdin.write(b"+" + name.encode() + b" " + key + b"\n")
            self._process.stdin.flush()
        except OSError:  # it died: wait() draws what it did not
            pass

    def _note(self, replies: bytes) -> None:
        for reply in replies.split():
            self._replies.add(reply.lstrip(b"!="))
            if not reply.startswith((b"!", b"=")):  # "=": this process took it
                self._drawn.add(reply)

    def _job_file(self, number: int) -> Path:
        return self._folder / f"{number}.pickle"

    def _take_queued(self) -> int | None:
        """The last figure the second process has not started, taken from it (renamed: the
        second one, reaching it, finds it gone); None if fewer than
        :data:`TAKE_MIN_QUEUED` are queued, or if this process does not share."""
        if not self._share:
            return None
        queued = [
            number
            for number in range(len(self._jobs))
            if str(number).encode() not in self._replies and self._job_file(number).exists()
        ]
        if len(queued) < TAKE_MIN_QUEUED:
            return None
        number = queued[-1]
        try:
            os.rename(self._job_file(number), self._job_file(number).with_suffix(".taken"))
        except FileNotFoundError:  # it started that one meanwhile
            return None
        return number

    def _draw_here(self, number: int) -> None:
        self._draw(*self._jobs[number])
        self._drawn.add(str(number).encode())
        self._replies.add(str(number).encode())

    def _draw(self, name: str, path: Path, args: tuple[Any, ...]) -> None:
        """Draw a figure in this process (one taken from the second, or one it missed)."""
        if self._lighter_matplotlib:
            from groundstation.outputs.figures import import_matplotlib_for_drawing

            import_matplotlib_for_drawing()
        _figure_function(name)(path, *args)

    def flush(self) -> None:
        """Return once every figure submitted so far is written, the second process kept
        for more; draw here any it did not (it failed, died, or took over
        :data:`WAIT_S`).

        While the second process has figures queued behind the one it draws, this one
        takes the last of them and draws it (the two then draw side by side): the wait for
        a session's figures is shared between the two processes (unless made without
        ``share``).
        """
        process = self._process
        wanted = {str(number).encode() for number in range(len(self._jobs))}
        if process is not None and process.stdout is not None:
            deadline = time.monotonic() + WAIT_S
            fd = process.stdout.fileno()
            while not wanted <= self._replies:
                number = self._take_queued()
                if number is not None:
                    self._draw_here(number)
                    continue
                left_s = deadline - time.monotonic()
                if left_s <= 0 or not select.select([fd], [], [], left_s)[0]:
                    self.kill()
                    break
                chunk = os.read(fd, 4096)
                if not chunk:  # it ended
                    break
                lines = (self._pending + chunk).split(b"\n")
                self._pending = lines.pop()
                self._note(b" ".join(lines))
        self._draw_missing()

    def _draw_missing(self) -> None:
        for number, (name, path, args) in enumerate(self._jobs):
            key = str(number).encode()
            if key not in self._drawn:
                self._draw(name, path, args)
                self._drawn.add(key)
                self._replies.add(key)

    def wait(self) -> None:
        """Return once every submitted figure is written; draw here any the second process
        did not."""
        if self._process is not None:
            self.flush()  # drawing here too while it has figures queued
        if self._process is not None:
            try:
                replies, _ = self._process.communicate(timeout=WAIT_S)
                self._note(self._pending + replies)
            except (OSError, subprocess.TimeoutExpired):
                self._process.kill()
                self._process.wait()
            self._process = None
        self._draw_missing()
        self._jobs.clear()
        self._replies.clear()
        self._drawn.clear()

    @property
    def running(self) -> bool:
        """Whether the second process is there, waiting for figures or drawing them."""
        return self._process is not None and self._process.poll() is None

    def kill(self) -> None:
        """Kill the second process (if still there) and wait for it; figures it has not
        drawn are drawn by :meth:`wait`."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    def close(self) -> None:
        """Kill the second process if it still runs (and wait for it); remove the jobs."""
        if self._process is not None:
            self.kill()
            for pipe in (self._process.stdin, self._process.stdout):
                if pipe is not None:
                    with contextlib.suppress(OSError):
                        pipe.close()
            self._process = None
        shutil.rmtree(self._folder, ignore_errors=True)


def wait_for_figures() -> None:
    """Return once every figure handed to the second process is written (at once outside
    :func:`figures_aside`)."""
    process = _ACTIVE.get()
    if process is not None:
        process.wait()


def flush_figures() -> None:
    """Return once every figure handed to the second process so far is written, the
    process kept for more (at once outside :func:`figures_aside`)."""
    process = _ACTIVE.get()
    if process is not None:
        process.flush()


def expect_figure(name: str, path: Path | str | None = None) -> None:
    """Announce figure ``name`` of :data:`FIGURES`, to be written to ``path``, before its
    data is there, so that the second process makes ready what it can of it while it waits
    (nothing outside :func:`figures_aside`). A figure announced again (the same path) is
    counted once; one announced without ``path`` (:meth:`FigureProcess.expect`) is counted
    once announced again with it."""
    process = _ACTIVE.get()
    if process is not None:
        process.expect(name, path)


def _key(path: Path | str) -> bytes:
    """``path`` as one word of ASCII: a figure's key on the second process's input."""
    return os.fsencode(Path(path)).hex().encode()


def stop_figures() -> None:
    """Kill the second process (if any) and wait for it, on an early end: before a folder
    it may be drawing into is removed. Figures it had not drawn are drawn by
    :func:`wait_for_figures`, if it is called."""
    process = _ACTIVE.get()
    if process is not None:
        process.kill()


@contextlib.contextmanager
def figures_aside(process: FigureProcess | None = None) -> Iterator[FigureProcess]:
    """Within the block, :func:`draw_png` hands figures to a second process.

    Call :func:`wait_for_figures` before using the PNGs (a page embedding them); leaving
    the block without it (an error, an interrupt) kills the second process first. Nest it
    inside the block that removes the output folder on an error (a staging folder), so that
    the second process is gone before the folder is. ``process`` is one started earlier
    (its imports under way); by default one is started now.
    """
    process = process if process is not None else FigureProcess()
    token = _ACTIVE.set(process)
    try:
        yield process
    finally:
        _ACTIVE.reset(token)
        process.close()


class _Spares:
    """The parts (:data:`SPARES`) the second process makes ahead for figures announced."""

    def __init__(self) -> None:
        self._wanted: dict[tuple[str, str], set[bytes]] = {}  # maker -> figures announced
        self._ready: dict[tuple[str, str], list[Any]] = {}

    def expect(self, name: str, key: bytes) -> None:
        """Note figure ``name`` announced, ``key`` its path (:func:`_key`), or ``?N`` when
        announced before its path was known: a path announced later takes the place of
        such a figure with the same maker."""
        maker = SPARES.get(name)
        if maker is None:
            return
        wanted = self._wanted.setdefault(maker, set())
        if key not in wanted and not key.startswith(b"?"):
            wanted.discard(min((k for k in wanted if k.startswith(b"?")), default=b""))
        wanted.add(key)

    def make_one(self, waiting: Callable[[], bool]) -> bool:
        """Make one part still wanted (short of whole if ``waiting`` becomes True); False
        when none is wanted."""
        for maker, wanted in self._wanted.items():
            ready = self._ready.setdefault(maker, [])
            if len(ready) < len(wanted):
                module, function = maker
                ready.append(getattr(importlib.import_module(module), function)(waiting))
                return True
        return False

    def forget(self, name: str, path: Path) -> None:
        """Figure ``name`` for ``path`` is drawn elsewhere: no part is wanted for it."""
        maker = SPARES.get(name)
        if maker is not None:
            self._discard(maker, path)

    def take(self, name: str, path: Path) -> dict[str, Any]:
        """The keyword arguments of figure ``name``'s function, to be written to ``path``:
        its part if one is ready."""
        maker = SPARES.get(name)
        if maker is None:
            return {}
        self._discard(maker, path)
        ready = self._ready.get(maker)
        return {"grid": ready.pop()} if ready else {}

    def _discard(self, maker: tuple[str, str], path: Path) -> None:
        wanted = self._wanted.get(maker, set())
        key = _key(path)
        if key not in wanted:  # drawn before it was announced with its path
            key = min((k for k in wanted if k.startswith(b"?")), default=key)
        wanted.discard(key)


def _serve() -> None:
    """The second process: draw each job named on standard input; reply with its name.

    A line ``+NAME KEY`` announces figure ``NAME`` (:meth:`FigureProcess.expect`). Whenever no
    job is waiting it readies what the next figures need: a throwaway figure first
    (:func:`groundstation.outputs.figures.warm_up`), then the parts of the figures
    announced (:data:`SPARES`). Once standard input ends it leaves without the
    interpreter's teardown, which the first process would wait for.
    """
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)  # the first process decides when to stop
    for name in FIGURES:  # the imports, while the first process decodes
        _figure_function(name)
    from groundstation.outputs.figures import import_matplotlib_for_drawing, warm_up

    import_matplotlib_for_drawing()

    spares = _Spares()
    warmed = False
    fd = sys.stdin.fileno()

    def waiting() -> bool:
        return bool(select.select([fd], [], [], 0)[0])

    pending = b""
    while True:
        while b"\n" not in pending:
            if not waiting():  # nothing waits: a head start
                try:  # only a head start: a figure does without it
                    if not warmed:
                        warmed = True
                        warm_up()
                        continue
                    if spares.make_one(waiting):
                        continue
                except Exception:
                    spares = _Spares()
                    continue
            chunk = os.read(fd, 4096)
            if not chunk:  # the first process has no more: every reply is written
                sys.stdout.buffer.flush()
                os._exit(0)
            pending += chunk
        line, pending = pending.split(b"\n", 1)
        if line.startswith(b"+"):
            name, _, key = line[1:].partition(b" ")
            spares.expect(name.decode(), key)
        else:
            _draw_job(Path(os.fsdecode(line)), spares)


def _draw_job(job: Path, spares: _Spares) -> None:
    """Draw the job pickled in ``job``; reply with its name (``!`` first if it failed: the
    first process draws it again, and reports what fails; ``=`` first if the first process
    took it, :meth:`FigureProcess.flush`)."""
    drawing = job.with_suffix(".drawing")
    try:
        os.rename(job, drawing)  # this process's now
    except FileNotFoundError:
        with contextlib.suppress(OSError, pickle.UnpicklingError, EOFError):
            with open(job.with_suffix(".taken"), "rb") as file:
                name, path, _ = pickle.load(file)
            spares.forget(name, path)
        sys.stdout.buffer.write(b"=" + job.stem.encode() + b"\n")
        sys.stdout.buffer.flush()
        return
    with open(drawing, "rb") as file:
        name, path, args = pickle.load(file)
    try:
        _figure_function(name)(path, *args, **spares.take(name, path))
    except Exception:
        sys.stdout.buffer.write(b"!" + job.stem.encode() + b"\n")
    else:
        sys.stdout.buffer.write(job.stem.encode() + b"\n")
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    _serve()
