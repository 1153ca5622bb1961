import pytest

from qtc_connections.retry import RetryPolicy


@pytest.mark.parametrize("method", ["GET", "POST", "PATCH", "DELETE", "PUT"])
def test_rate_limit_retried_for_every_method(method):
    assert RetryPolicy().should_retry_status(method, 429)


@pytest.mark.parametrize(
    ("method", "status", "expected"),
    [
        ("GET", 503, True),
        ("DELETE", 502, True),
        ("PUT", 504, True),
        ("POST", 503, False),
        ("PATCH", 502, False),
        ("GET", 500, False),
        ("GET", 400, False),
        ("GET", 409, False),
    ],
)
def test_server_errors_retried_only_when_idempotent(method, status, expected):
    assert RetryPolicy().should_retry_status(method, status) is expected


@pytest.mark.parametrize(
    ("method", "expected"), [("GET", True), ("POST", False), ("PATCH", False)]
)
def test_transport_errors_retried_only_when_idempotent(method, expected):
    assert RetryPolicy().should_retry_transport_error(method) is expected


def test_delay_grows_exponentially_to_cap():
    policy = RetryPolicy(backoff_base=1.0, backoff_max=5.0, jitter=0.0)
    assert [policy.delay(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_retry_after_overrides_backoff():
    assert RetryPolicy(jitter=0.0).delay(1, retry_after=13.0) == 13.0


def test_jitter_stays_within_bound():
    policy = RetryPolicy(backoff_base=1.0, jitter=0.1)
    for _ in range(50):
        assert 1.0 <= policy.delay(1) <= 1.1


def test_retry_after_too_long():
    policy = RetryPolicy(max_retry_after=60.0)
    assert policy.retry_after_too_long(61.0)
    assert not policy.retry_after_too_long(60.0)
    assert not policy.retry_after_too_long(None)


def test_invalid_max_attempts_rejected():
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
