"""The time budget, step limit and checkpoint cadence of one training run, counted across resumes.

Every trainer stopped on its own mix of `max_hours`, `max_minutes`, `max_steps` and a checkpoint timer; this is
the one rule: the run's training seconds (`state["seconds"]`, saved in the checkpoint) plus this process's
elapsed time against `minutes`, the step count against `max_steps`, and a checkpoint every `checkpoint_s`.
"""
from __future__ import annotations

import time
from collections.abc import Callable


class Budget:
    """`minutes` of training (over all resumes) and at most `max_steps` steps; `clock` is injectable for tests."""

    def __init__(self, minutes: float, max_steps: int | None = None, checkpoint_s: float = 180.0,
                 seconds_before: float = 0.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit_s = minutes * 60.0
        self.max_steps = max_steps
        self.checkpoint_s = checkpoint_s
        self._clock = clock
        self._before = seconds_before
        self._start = self._last_save = clock()

    @property
    def seconds(self) -> float:
        """Training seconds of the run so far, previous processes included."""
        return self._before + self._clock() - self._start

    @property
    def fraction(self) -> float:
        """Share of the time budget used (for schedules such as "drop the rate for the last 20 %")."""
        return self.seconds / self.limit_s if self.limit_s > 0 else 1.0

    def out_of_time(self) -> bool:
        return self.seconds > self.limit_s

    def done(self, step: int) -> bool:
        """The step limit is reached or the time is up."""
        return (self.max_steps is not None and step >= self.max_steps) or self.out_of_time()

    def checkpoint_due(self) -> bool:
        """True once every `checkpoint_s` (the call restarts the timer when it says True)."""
        if self._clock() - self._last_save < self.checkpoint_s:
            return False
        self._last_save = self._clock()
        return True
