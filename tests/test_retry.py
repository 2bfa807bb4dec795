"""The retry plan (vice_ai/llm/retry.py) alone: which failures are tried again, how long it waits, when it stops."""
from __future__ import annotations

import pytest

from vice_ai.errors import ModelError
from vice_ai.llm.retry import MAX_ATTEMPTS, RetryPlan, retry_after, worth_retrying


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def plan(budget: float = 20.0, deadline: float = 60.0, draw: float = 0.5) -> tuple[RetryPlan, Clock]:
    clock = Clock()
    return RetryPlan(budget, deadline, rng=lambda: draw, clock=clock), clock


def status_error(status: int, reason: str = "server_error", retryable: bool = True) -> ModelError:
    return ModelError(f"The model server answered {status}.", reason=reason, retryable=retryable, status_code=status)


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504, 529])
def test_transient_statuses_are_worth_retrying(status):
    assert worth_retrying(status_error(status))


@pytest.mark.parametrize("status, reason", [(400, "bad_request"), (401, "auth"), (403, "auth"),
                                            (404, "model_not_found"), (413, "bad_request"), (422, "bad_request")])
def test_client_errors_are_never_retried(status, reason):
    p, _ = plan()
    err = status_error(status, reason, retryable=False)
    assert not worth_retrying(err) and p.wait_for(err, asked=0.1) is None
    assert p.final_error(err) is err


def test_501_is_not_retried_even_though_it_is_a_server_error():
    assert not worth_retrying(status_error(501))


@pytest.mark.parametrize("draw", [0.0, 1.0])
def test_back_off_doubles_with_jitter_up_to_the_cap(draw):
    p, _ = plan(budget=1000, deadline=1000, draw=draw)
    err = ModelError("Lost.", reason="connection")
    waits = [p.wait_for(err) for _ in range(MAX_ATTEMPTS - 1)]
    ceilings = [0.5, 1.0, 2.0, 4.0, 8.0]
    assert waits == [c / 2 + draw * c / 2 for c in ceilings]
    assert p.wait_for(err) is None  # the sixth failure is the last


def test_each_back_off_is_clearly_longer_than_the_one_before_whatever_the_jitter_draws():
    draws = iter([1.0, 0.0, 0.0, 1.0, 0.0])  # the first wait at its longest, the second at its shortest...
    p = RetryPlan(1000, 1000, rng=lambda: next(draws))
    err = ModelError("Lost.", reason="connection")
    waits = [p.wait_for(err) for _ in range(MAX_ATTEMPTS - 1)]
    assert waits == pytest.approx([0.5, 0.625, 1.0, 4.0, 5.0])  # not 0.5 then 0.5: a retry at a constant interval
    assert all(later >= earlier * 1.25 for earlier, later in zip(waits, waits[1:], strict=False))


def test_retry_after_is_honoured_with_a_little_jitter_on_top():
    p, _ = plan(draw=1.0)
    assert p.wait_for(status_error(429, "rate_limited"), asked=2.0) == pytest.approx(2.2)
    assert p.wait_for(status_error(503), asked=0.0) == 0.0


def test_the_budget_bounds_the_total_wait():
    p, _ = plan(budget=3.0, draw=0.0)
    err = status_error(429, "rate_limited")
    assert p.wait_for(err, asked=1.0) == 1.0
    assert p.wait_for(err, asked=1.5) == 1.5
    assert p.wait_for(err, asked=1.0) is None  # 0.5 s left
    message = p.final_error(err).message
    assert message.startswith("The model server kept refusing with 429 (too many requests): 3 tries over ")
    assert "this app waits at most 3 seconds in all" in message


def test_a_retry_after_longer_than_the_budget_is_reported_at_once():
    p, _ = plan(budget=20.0)
    err = status_error(429, "rate_limited")
    assert p.wait_for(err, asked=60.0) is None
    final = p.final_error(err)
    assert final.message.endswith("It asked to wait 60 seconds, longer than this app waits in all (20 seconds). "
                                  "Try again later.")
    assert final.details["retry_after"] == 60 and final.retryable and final.reason == "rate_limited"


def test_no_attempt_starts_after_the_deadline():
    p, clock = plan(budget=100.0, deadline=10.0, draw=0.0)
    err = ModelError("Timed out.", reason="timeout")
    assert p.wait_for(err) == 0.25
    clock.now += 9.9
    assert p.wait_for(err) is None
    assert p.final_error(err).message == "Timed out. (2 tries over 9.9 seconds.)"


@pytest.mark.parametrize("headers, seconds", [
    ({"retry-after-ms": "250", "retry-after": "1"}, 0.25),
    ({"retry-after": "3"}, 3.0),
    ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),  # a date in the past
    ({"retry-after": "soon"}, None),
    ({}, None),
])
def test_retry_after_headers(headers, seconds):
    assert retry_after(headers) == seconds
