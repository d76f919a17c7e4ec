"""Fakes shared by unit and integration tests: the injected clock, a password hasher that does
not cost Argon2's time, and the harness that releases threads together to race for one row."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import TypeVar

BEIJING = dt.timezone(dt.timedelta(hours=8))
T = TypeVar("T")


class FakeClock:
    """The injected clock, set and moved by hand: ``clock()`` answers ``clock.now`` (timezone-aware)."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, days: float = 0, **delta: float) -> None:
        self.now += dt.timedelta(days=days, **delta)

    def set_beijing(self, day: dt.date, hour: int = 10) -> dt.datetime:
        """``hour`` o'clock Beijing time on ``day`` (stored in UTC, as the system clock answers)."""
        self.now = dt.datetime.combine(day, dt.time(hour), BEIJING).astimezone(dt.UTC)
        return self.now


class PlainHasher:
    """Argon2 is slow by design; tests that are not about hashing store ``plain$<password>``."""

    def hash(self, password: str) -> str:
        return "plain$" + password

    def verify(self, password_hash: str, password: str) -> bool:
        return password_hash == "plain$" + password

    def needs_rehash(self, password_hash: str) -> bool:
        return False


def race(n: int, action: Callable[[int], T], *, catch: tuple[type[Exception], ...] = (Exception,),
            timeout: float = 120) -> list[T | Exception]:
    """Runs ``action(0)`` … ``action(n - 1)`` on ``n`` threads released together by a barrier.

    Returns, in index order, what each call returned or the exception of a ``catch`` type it raised;
    any other exception is raised here once every thread has finished, and so is a thread still
    running after ``timeout`` seconds."""
    barrier = threading.Barrier(n)
    slots: dict[int, T | Exception] = {}
    escaped: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            slots[i] = action(i)
        except catch as exc:
            slots[i] = exc
        except BaseException as exc:  # re-raised in the test's thread below
            escaped.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    stuck = sum(t.is_alive() for t in threads)
    if stuck:
        raise TimeoutError(f"{stuck} of {n} racing threads still running after {timeout}s")
    if escaped:
        raise escaped[0]
    return [slots[i] for i in range(n)]
