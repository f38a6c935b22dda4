"""timestamps: the memoised per-second text equals strftime / formatdate for every instant, cached or not."""
from __future__ import annotations

import random
import time
from email.utils import formatdate

from miniaws.core.timestamps import http_date, iso8601_ms


def _iso_reference(epoch: float) -> str:
    whole = int(epoch)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + ".%03dZ" % int((epoch - whole) * 1000)


def test_same_text_as_strftime_and_formatdate() -> None:
    rng = random.Random(5)
    instants = [0.0, 0.999, 1.0, 59.5, 951782400.25, 1767225600.0, 1767225600.999, 4102444799.5]
    instants += [rng.uniform(0, 4_102_444_800) for _ in range(2000)]
    for epoch in instants + instants:  # the second pass is answered from the cache
        assert iso8601_ms(epoch) == _iso_reference(epoch)
        assert http_date(epoch) == formatdate(int(epoch), usegmt=True)


def test_instants_in_one_second_keep_their_milliseconds() -> None:
    assert [iso8601_ms(1767225600 + fraction) for fraction in (0, 0.125, 0.5, 0.75)] == [
        "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.125Z", "2026-01-01T00:00:00.500Z",
        "2026-01-01T00:00:00.750Z"]
    assert http_date(1767225600.999) == http_date(1767225600.0) == "Thu, 01 Jan 2026 00:00:00 GMT"
    assert http_date(1767225601.0) == "Thu, 01 Jan 2026 00:00:01 GMT"
