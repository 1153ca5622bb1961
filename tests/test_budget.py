"""The write budget: a token bucket paced by an injected clock."""

from __future__ import annotations

import threading

import pytest

from qtc_connections.sync.budget import DEFAULT_WRITES_PER_MINUTE, WriteBudget


class FakeClock:
    """A clock that moves only when a sleep is requested."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_default_stays_below_tenant_limit() -> None:
    assert DEFAULT_WRITES_PER_MINUTE == 90
    assert WriteBudget().writes_per_minute < 100


def test_first_write_does_not_wait() -> None:
    clock = FakeClock()
    budget = WriteBudget(60, clock=clock, sleep=clock.sleep)

    assert budget.acquire() == 0.0
    assert clock.sleeps == []


def test_writes_are_spaced_evenly() -> None:
    clock = FakeClock()
    budget = WriteBudget(60, clock=clock, sleep=clock.sleep)

    waits = [budget.acquire() for _ in range(4)]

    assert waits == [0.0, pytest.approx(1.0), pytest.approx(1.0), pytest.approx(1.0)]


def test_reservations_queue_up() -> None:
    clock = FakeClock()
    budget = WriteBudget(120, clock=clock, sleep=clock.sleep)

    # Without sleeping, each caller waits for every token reserved before it.
    waits = [budget.reserve() for _ in range(4)]

    assert waits == [0.0, pytest.approx(0.5), pytest.approx(1.0), pytest.approx(1.5)]


def test_idle_time_refills_to_burst() -> None:
    clock = FakeClock()
    budget = WriteBudget(60, burst=3, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        budget.acquire()
    clock.now += 3600

    waits = [budget.acquire() for _ in range(4)]

    assert waits == [0.0, 0.0, 0.0, pytest.approx(1.0)]


@pytest.mark.parametrize("window", [1.0, 2.5, 10.0, 60.0])
def test_window_never_exceeds_rate(window: float) -> None:
    clock = FakeClock()
    rate = 90
    budget = WriteBudget(rate, clock=clock, sleep=clock.sleep)
    times = []
    for _ in range(200):
        budget.acquire()
        times.append(clock.now)

    busiest = max(
        sum(1 for t in times if start <= t < start + window) for start in times
    )

    assert busiest <= 1 + rate * window / 60


def test_threads_share_one_budget() -> None:
    clock = FakeClock()
    lock = threading.Lock()
    budget = WriteBudget(600, clock=clock, sleep=lambda seconds: None)
    waits: list[float] = []

    def take() -> None:
        wait = budget.reserve()
        with lock:
            waits.append(wait)

    threads = [threading.Thread(target=take) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(waits) == [pytest.approx(i * 0.1) for i in range(10)]


@pytest.mark.parametrize(
    ("rate", "burst"), [(0, 1), (-5, 1), (60, 0)], ids=["zero", "negative", "burst"]
)
def test_invalid_budget_is_rejected(rate: float, burst: int) -> None:
    with pytest.raises(ValueError):
        WriteBudget(rate, burst=burst)
