"""Interrupts: SIGINT, SIGTERM and SIGHUP end a run cleanly, at any moment from start-up on.

:func:`install` is the first thing the command line does, before it imports anything
heavy. Until :func:`arm` is called (inside the command line's error handling), a signal is
only noted; from then on it raises :class:`Interrupted`, a ``KeyboardInterrupt``, so every
``finally`` and every ``except BaseException`` that removes a temporary file or folder
runs. A second signal while that clean-up runs is ignored, so the clean-up finishes.
Exit status: 128 + the signal number (130 SIGINT, 143 SIGTERM, 129 SIGHUP).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from types import FrameType

#: The signals that interrupt a run.
INTERRUPT_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """A run was interrupted by a signal."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_status(self) -> int:
        """128 + the signal number, as a shell reports a process ended by it."""
        return 128 + self.signum


_state: dict[str, int | bool | None] = {
    "armed": False,
    "pending": None,
    "raised": False,
    "received": None,
}


def _handler(signum: int, frame: FrameType | None) -> None:
    _state["received"] = _state["received"] or signum
    if _state["raised"]:
        return  # already unwinding: let the clean-up finish
    if not _state["armed"]:
        _state["pending"] = _state["pending"] or signum
        return
    _state["raised"] = True
    raise Interrupted(signum)


def _deliver_again(signum: int) -> None:
    time.sleep(0.02)  # let the hook return first: a handler raising inside it is printed
    _state["raised"] = False
    os.kill(os.getpid(), signum)


def _unraisable(unraisable: sys.UnraisableHookArgs) -> None:
    """Deliver again an interrupt that landed where Python ignores exceptions.

    A signal handled inside a finaliser (``__del__``, a weak-reference callback) raises
    there, and Python prints "Exception ignored in ..." and goes on. Instead the signal is
    sent again, quietly, from another thread once this hook has returned, so that it ends
    the run at the main thread's next ordinary statement (Python runs handlers in the main
    thread only; until then ``raised`` keeps a handler from raising inside this hook).
    """
    exc = unraisable.exc_value
    if isinstance(exc, Interrupted):
        threading.Thread(target=_deliver_again, args=(exc.signum,), daemon=True).start()
        return
    _previous_hook[0](unraisable)


#: The unraisable hook :func:`install` replaced (every other exception still goes to it).
_previous_hook = [sys.__unraisablehook__]


def install() -> dict[int, object]:
    """Route the interrupt signals to :class:`Interrupted`; return the previous handlers.

    Does nothing (and returns ``{}``) outside the main thread, where Python cannot set
    signal handlers.
    """
    if threading.current_thread() is not threading.main_thread():
        return {}
    if signal.getsignal(signal.SIGINT) is not _handler:  # else keep a signal noted earlier
        _state.update(pending=None, received=None)
    _state.update(armed=False, raised=False)
    if sys.unraisablehook is not _unraisable:
        _previous_hook[0] = sys.unraisablehook
        sys.unraisablehook = _unraisable
    return {signum: signal.signal(signum, _handler) for signum in INTERRUPT_SIGNALS}


def restore(previous: dict[int, object]) -> None:
    """Put back the handlers :func:`install` replaced (the outermost call: the hook too)."""
    for signum, handler in previous.items():
        signal.signal(signum, handler)
    if previous and previous.get(signal.SIGINT) is not _handler:
        sys.unraisablehook = _previous_hook[0]


def arm() -> None:
    """From now on a signal raises :class:`Interrupted`; raise one noted before, if any."""
    _state["armed"] = True
    pending = _state["pending"]
    if pending is not None:
        _state.update(pending=None, raised=True)
        raise Interrupted(int(pending))


def disarm() -> None:
    """From now on a signal is only noted again: the run is over, its outputs are final."""
    _state["armed"] = False


def ignore_from_now() -> None:
    """Ignore the interrupt signals for the rest of the process.

    For the process's own entry point once the run is over: the interpreter's shut-down puts
    the default action back for signals it handled, so a SIGTERM landing there would end a
    finished run as killed by it. Ignoring (which shut-down keeps) leaves the status as the
    run set it.
    """
    if threading.current_thread() is threading.main_thread():
        for signum in INTERRUPT_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)


def raise_if_missed() -> None:
    """Raise :class:`Interrupted` for a signal that arrived but never ended the run.

    The handler's exception can be swallowed where Python ignores exceptions (a ``__del__``,
    a callback); the command line calls this when a command returns normally, so such a run
    still ends as interrupted (what it finished is kept) rather than as a success.
    """
    received = _state["received"]
    if received is not None:
        _state["raised"] = True
        raise Interrupted(int(received))


def raised_meanwhile() -> Interrupted | None:
    """The interrupt raised in this run, if one was: a run that ends in another exception
    after it ended so because of it (a library's bare ``except:`` that turned the
    interrupt into an error of its own, e.g. an import that failed when it landed)."""
    received = _state["received"]
    if _state["raised"] and received is not None:
        return Interrupted(int(received))
    return None


def interrupted(exc: BaseException) -> int:
    """Exit status for an interrupt (``KeyboardInterrupt`` without a signal: 130)."""
    _state["raised"] = True
    return exc.exit_status if isinstance(exc, Interrupted) else 128 + signal.SIGINT
