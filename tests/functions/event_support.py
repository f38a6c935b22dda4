"""Shared by the event-source, destination and SNS/S3 → Lambda tests: a function module that prints what it
receives, and helpers that read those prints back from the function's log (GET /_miniaws/lambda/logs/<name>)."""
from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from typing import Any, TypeVar

from tests.helpers.lambda_code import zipped

T = TypeVar("T")

#: every handler prints `SEEN <event JSON>` first, so a test can read back exactly what each invocation got
RECORDER = '''
import json


def _seen(event):
    print("SEEN " + json.dumps(event))


def record(event, context):
    _seen(event)


def echo(event, context):
    _seen(event)
    return {"echo": event}


def fail(event, context):
    _seen(event)
    raise RuntimeError("cannot handle this")


def partial(event, context):
    # ReportBatchItemFailures: every record whose body mentions "bad" failed
    _seen(event)
    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"] if "bad" in r["body"]]}


def bogus_partial(event, context):
    _seen(event)
    return {"batchItemFailures": [{"itemIdentifier": "not-a-message-of-this-batch"}]}
'''

RECORDER_ZIP = zipped({"app.py": RECORDER})


def seen(endpoint: str, name: str) -> list[Any]:
    """Every event the function printed, oldest first."""
    with urllib.request.urlopen(f"{endpoint}/_miniaws/lambda/logs/{name}") as response:
        events = json.loads(response.read())["events"]
    return [json.loads(e["message"][5:]) for e in events if e["message"].startswith("SEEN ")]


def wait_for(probe: Callable[[], T | None], timeout: float = 10.0, interval: float = 0.05) -> T:
    """Poll `probe` until it returns something truthy (the test's view from outside; miniaws itself never polls)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last: {value!r})")
        time.sleep(interval)


def counts(sqs: Any, url: str) -> tuple[int, int]:
    """(visible, in flight) messages of a queue."""
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])
