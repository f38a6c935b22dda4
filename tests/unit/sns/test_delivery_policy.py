"""HTTP/S delivery policies: the delay before each retry through the four phases, and validation."""
from __future__ import annotations

import pytest

from miniaws.services.sns.attributes import DEFAULT_RETRY, RetryPolicy, retry_policy_of
from miniaws.services.sns.errors import InvalidParameter


def test_the_default_is_three_retries_twenty_seconds_apart() -> None:
    assert DEFAULT_RETRY.delays() == [20.0, 20.0, 20.0]


def test_phases_in_order() -> None:
    policy = RetryPolicy(min_delay=1, max_delay=16, retries=9, no_delay_retries=2, min_delay_retries=2,
                         max_delay_retries=1, backoff="exponential")
    delays = policy.delays()
    assert delays[:4] == [0.0, 0.0, 1.0, 1.0]
    assert delays[4:8] == pytest.approx([2.0, 4.0, 8.0, 16.0])
    assert delays[8:] == [16.0]


def test_linear_backoff() -> None:
    assert RetryPolicy(min_delay=2, max_delay=10, retries=4).delays() == [4.0, 6.0, 8.0, 10.0]


@pytest.mark.parametrize("document, reason", [
    ({"numRetries": 101}, "numRetries"),
    ({"minDelayTarget": 0}, "minDelayTarget"),
    ({"minDelayTarget": 30, "maxDelayTarget": 20}, "minDelayTarget must be less"),
    ({"backoffFunction": "random"}, "backoffFunction"),
    ({"numRetries": 1, "numNoDelayRetries": 2}, "at least the sum"),
    ({"numRetries": 100, "minDelayTarget": 3600, "maxDelayTarget": 3600}, "3600 seconds"),
])
def test_invalid_policies(document: dict[str, object], reason: str) -> None:
    with pytest.raises(InvalidParameter, match=reason):
        retry_policy_of(document)
