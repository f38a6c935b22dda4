"""miniaws's runtime for python3.x functions: imports the handler, then serves invocations over the Runtime API.

Standard library only (it runs on any interpreter a runtime name maps to, and must start fast). Behaviour follows
AWS's Python runtime: the error types (Runtime.ImportModuleError, Runtime.HandlerNotFound, ...), the error
document {errorMessage, errorType, requestId, stackTrace}, the context object and the log line format
(https://docs.aws.amazon.com/lambda/latest/dg/python-context.html, python-exceptions.html, python-logging.html).
"""
from __future__ import annotations

import http.client
import importlib
import json
import logging
import os
import sys
import time
import traceback
from typing import Any

API = "/2018-06-01/runtime"


class RuntimeClient:
    """A keep-alive HTTP/1.1 connection to this environment's Runtime API."""

    def __init__(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        self._host, self._port = host, int(port)
        self._conn = http.client.HTTPConnection(self._host, self._port)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, http.client.HTTPMessage, bytes]:
        for attempt in (0, 1):
            try:
                self._conn.request(method, path, body=body, headers=headers or {})
                response = self._conn.getresponse()
                return response.status, response.headers, response.read()
            except (ConnectionError, http.client.HTTPException):
                self._conn.close()
                if attempt:
                    raise
                self._conn = http.client.HTTPConnection(self._host, self._port)
        raise AssertionError("unreachable")


class LambdaContext:
    """The context argument (https://docs.aws.amazon.com/lambda/latest/dg/python-context.html)."""

    def __init__(self, request_id: str, deadline_ms: int, invoked_arn: str, client_context: Any) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        # a string, as in AWS's runtime, which copies the environment variable
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = client_context
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def __repr__(self) -> str:
        return (f"LambdaContext([aws_request_id={self.aws_request_id},log_group_name={self.log_group_name},"
                f"function_name={self.function_name},memory_limit_in_mb={self.memory_limit_in_mb},"
                f"function_version={self.function_version},invoked_function_arn={self.invoked_function_arn}])")


class _RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


class _UtcFormatter(logging.Formatter):
    converter = staticmethod(time.gmtime)


def setup_logging() -> _RequestIdFilter:
    """The root logger's handler writes `[LEVEL]\\ttimestamp\\trequest-id\\tmessage`, as AWS's runtime does."""
    request_filter = _RequestIdFilter()
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_UtcFormatter("[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
                                       "%Y-%m-%dT%H:%M:%S"))
    handler.addFilter(request_filter)
    root = logging.getLogger()
    root.addHandler(handler)
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL")
    if level:
        root.setLevel(level.upper())
    return request_filter


class FunctionError(Exception):
    def __init__(self, error_type: str, message: str, stack: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.stack = stack or []


def error_document(error_type: str, message: str, stack: list[str], request_id: str = "") -> bytes:
    return json.dumps({"errorMessage": message, "errorType": error_type, "requestId": request_id,
                       "stackTrace": stack}).encode()


def _stack(exc: BaseException) -> list[str]:
    return traceback.format_list(traceback.extract_tb(exc.__traceback__))


def load_handler(name: str) -> Any:
    try:
        module_name, function_name = name.rsplit(".", 1)
    except ValueError as exc:
        raise FunctionError("Runtime.MalformedHandlerName", f"Bad handler '{name}': {exc}") from None
    module_name = module_name.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise FunctionError("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}") from None
    except SyntaxError as exc:
        raise FunctionError("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}",
                            _stack(exc)) from None
    except Exception as exc:
        raise FunctionError(type(exc).__name__, str(exc), _stack(exc)) from None
    handler = getattr(module, function_name, None)
    if handler is None:
        raise FunctionError("Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'")
    return handler


def log_error(error_type: str, message: str, stack: list[str]) -> None:
    text = f"[ERROR] {error_type}: {message}\nTraceback (most recent call last):\n" + "".join(stack)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()


def main() -> None:
    client = RuntimeClient(os.environ["AWS_LAMBDA_RUNTIME_API"])
    task_root = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
    here = os.path.dirname(os.path.abspath(__file__))
    # the interpreter put this script's directory first; the function's code must come first instead
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    sys.path.insert(0, task_root)
    request_filter = setup_logging()
    try:
        handler = load_handler(os.environ.get("_HANDLER", ""))
    except FunctionError as exc:
        log_error(exc.error_type, exc.message, exc.stack)
        client.request("POST", f"{API}/init/error", error_document(exc.error_type, exc.message, exc.stack),
                       {"Lambda-Runtime-Function-Error-Type": exc.error_type})
        sys.exit(1)
    while True:
        status, headers, body = client.request("GET", f"{API}/invocation/next")
        if status != 200:
            sys.exit(0)  # the environment is being shut down
        request_id = headers.get("Lambda-Runtime-Aws-Request-Id", "")
        request_filter.request_id = request_id
        trace_id = headers.get("Lambda-Runtime-Trace-Id")
        if trace_id:
            os.environ["_X_AMZN_TRACE_ID"] = trace_id
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        raw_context = headers.get("Lambda-Runtime-Client-Context")
        context = LambdaContext(request_id, int(headers.get("Lambda-Runtime-Deadline-Ms", "0")),
                                headers.get("Lambda-Runtime-Invoked-Function-Arn", ""),
                                json.loads(raw_context) if raw_context else None)
        try:
            try:
                event = json.loads(body) if body else {}
            except ValueError as exc:
                raise FunctionError("Runtime.UnmarshalError", f"Unable to unmarshal input: {exc}") from None
            result = handler(event, context)
            try:
                out = json.dumps(result).encode()
            except (TypeError, ValueError) as exc:
                raise FunctionError("Runtime.MarshalError", f"Unable to marshal response: {exc}") from None
        except FunctionError as exc:
            _report(client, request_id, exc.error_type, exc.message, exc.stack)
            continue
        except Exception as exc:
            # the first frame is this loop calling the handler: AWS's trace starts in the function's code
            frames = traceback.extract_tb(exc.__traceback__)[1:]
            _report(client, request_id, type(exc).__name__, str(exc), traceback.format_list(frames))
            continue
        sys.stdout.flush()
        sys.stderr.flush()
        client.request("POST", f"{API}/invocation/{request_id}/response", out)


def _report(client: RuntimeClient, request_id: str, error_type: str, message: str, stack: list[str]) -> None:
    log_error(error_type, message, stack)
    sys.stderr.flush()
    client.request("POST", f"{API}/invocation/{request_id}/error", error_document(error_type, message, stack),
                   {"Lambda-Runtime-Function-Error-Type": error_type})


if __name__ == "__main__":
    main()
