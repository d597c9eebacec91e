"""train/budget.py: the one stopping and checkpoint rule of the trainers (minutes, counted across resumes)."""
from __future__ import annotations

import pytest

from face_addon.train.budget import Budget


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_minutes_are_minutes_and_count_the_previous_runs():
    clock = Clock()
    b = Budget(2.0, seconds_before=100.0, clock=clock)  # 120 s in all, 100 s spent before this resume
    assert b.limit_s == 120.0 and b.seconds == 100.0 and not b.done(0)
    clock.now += 19.0
    assert not b.out_of_time() and b.fraction == pytest.approx(119 / 120)
    clock.now += 2.0
    assert b.out_of_time() and b.done(0) and b.seconds == 121.0


def test_step_limit_and_no_limit():
    b = Budget(60.0, max_steps=3, clock=Clock())
    assert not b.done(2) and b.done(3) and b.done(4)
    assert not Budget(60.0, clock=Clock()).done(10 ** 9)


def test_checkpoint_due_once_per_interval():
    clock = Clock()
    b = Budget(60.0, checkpoint_s=180.0, clock=clock)
    assert not b.checkpoint_due()
    clock.now += 180.0
    assert b.checkpoint_due() and not b.checkpoint_due()  # the timer restarts when it says yes
    clock.now += 179.0
    assert not b.checkpoint_due()
    clock.now += 1.0
    assert b.checkpoint_due()
