"""Ctrl-C and SIGTERM for the matrix driver: the first one stops the experiment cleanly, a second one at once.

Ray Tune stops a run gracefully on its interrupt signal (it saves the experiment state and ends the
running trials) and then returns from `fit()` as if the run were over. The driver must not read that
as success, so it owns SIGINT and SIGTERM itself: `StopSignals` records which signal came, forwards
the first one to Tune while Tune runs (Tune's handler sits on SIGUSR1 during `fit()`), and raises
`Interrupted` for a second one, or for any that comes while Tune is not running (preparing data,
starting Ray). The driver then reports what finished, what failed and what did not run, marks the
MLflow parent run KILLED, shuts Ray down and exits 128 + the signal number (130, 143).
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator


class Interrupted(KeyboardInterrupt):
    """The driver was told to stop; `exit_code` is the shell's 128 + signal number."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class StopSignals:
    """SIGINT and SIGTERM handlers of the driver's main thread (see the module docstring)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.received: int | None = None
        self._tuning = False

    @property
    def name(self) -> str:
        return signal.Signals(self.received).name if self.received else ""

    @property
    def exit_code(self) -> int:
        return 128 + self.received if self.received else 0

    def install(self) -> StopSignals:
        """(Re)install the handlers; call again after `ray.init`, which sets a SIGTERM handler of its own."""
        for signum in self.SIGNALS:
            signal.signal(signum, self._handle)
        return self

    @contextlib.contextmanager
    def tuning(self) -> Iterator[None]:
        """While Tune's fit() runs, the first signal asks Tune to stop gracefully instead of unwinding."""
        self._tuning = True
        try:
            yield
        finally:
            self._tuning = False

    def _handle(self, signum: int, frame) -> None:
        first = self.received is None
        if first:
            self.received = signum
        tune_stop = signal.getsignal(signal.SIGUSR1) if hasattr(signal, "SIGUSR1") else None
        if first and self._tuning and callable(tune_stop):
            print(
                f"\n{signal.Signals(signum).name}: stopping the experiment (the running trials end, Tune saves its "
                "state); send it again to stop at once",
                file=sys.stderr,
                flush=True,
            )
            tune_stop(signal.SIGUSR1, frame)
            return
        raise Interrupted(self.received)
