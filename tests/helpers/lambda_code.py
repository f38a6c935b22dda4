"""Function code for Lambda tests: zips built in memory, and the handlers the tests share."""
from __future__ import annotations

import io
import zipfile

ROLE = "arn:aws:iam::000000000000:role/lambda-role"

#: one module with a handler per behaviour; tests pick one with Handler="app.<name>"
HANDLERS = '''
import json, os, time

COUNT = 0
STARTED = time.time()


def echo(event, context):
    return event


def counter(event, context):
    global COUNT
    COUNT += 1
    print("call", COUNT)
    return {"count": COUNT, "pid": os.getpid()}


def info(event, context):
    keys = ("AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            "AWS_REGION", "LAMBDA_TASK_ROOT", "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_ENDPOINT_URL", "GREETING",
            "AWS_ACCESS_KEY_ID", "AWS_LAMBDA_RUNTIME_API")
    return {"env": {k: os.environ.get(k) for k in keys}, "request_id": context.aws_request_id,
            "function_name": context.function_name, "memory": context.memory_limit_in_mb,
            "arn": context.invoked_function_arn, "log_group": context.log_group_name,
            "remaining": context.get_remaining_time_in_millis(), "cwd": os.getcwd()}


def fail(event, context):
    raise ValueError("boom: " + str(event.get("why", "")))


def sleepy(event, context):
    print("going to sleep")
    time.sleep(event.get("seconds", 3))
    return "woke up"


def crash(event, context):
    os._exit(7)


def hog(event, context):
    data = b"x" * (event["mb"] * 1024 * 1024)  # written, so resident
    time.sleep(event.get("hold", 0.5))
    return len(data)


def flaky(event, context):
    # fails until a marker file has seen `event["fail"]` attempts (retries of Event invocations)
    path = event["path"]
    with open(path, "a") as fh:
        fh.write("x")
    with open(path) as fh:
        attempts = len(fh.read())
    if attempts <= event["fail"]:
        raise RuntimeError(f"attempt {attempts} fails")
    return attempts


def uses_boto3(event, context):
    import boto3
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=event["bucket"])
    s3.put_object(Bucket=event["bucket"], Key="from-lambda", Body=b"hi")
    return [o["Key"] for o in s3.list_objects_v2(Bucket=event["bucket"])["Contents"]]
'''


def zipped(files: dict[str, str | bytes], modes: dict[str, int] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (modes or {}).get(name, 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return buffer.getvalue()


def handlers_zip() -> bytes:
    return zipped({"app.py": HANDLERS})
