"""The Service base class and the @operation decorator every service API is written with.

A service subclass declares its wire protocol and generated spec, and tags one method per AWS operation:

    class StsService(Service):
        name = "sts"; protocol = "query"; spec = SPEC
        @operation("GetCallerIdentity")
        def get_caller_identity(self, ctx: RequestContext, params: dict) -> dict: ...

Methods may be sync or async; they validate like AWS, call the model, and return the output as a dict keyed by
the AWS member names. Errors are raised as AwsError subclasses.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from miniaws.core.context import RequestContext
from miniaws.core.errors import NotImplementedOperation

Handler = Callable[[Any, RequestContext, dict[str, Any]], Any]
F = TypeVar("F", bound=Callable[..., Any])


def operation(aws_name: str) -> Callable[[F], F]:
    """Mark a method as the implementation of the AWS operation `aws_name`."""

    def mark(fn: F) -> F:
        fn.__aws_operation__ = aws_name  # type: ignore[attr-defined]
        return fn

    return mark


class Service:
    name: ClassVar[str]
    #: "rest-xml" | "query" | "json" | "rest-json"
    protocol: ClassVar[str]
    spec: ClassVar[dict[str, Any]]
    #: AWS operation name → (unbound method, is coroutine function)
    operations: ClassVar[dict[str, tuple[Handler, bool]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table: dict[str, tuple[Handler, bool]] = {}
        for base in reversed(cls.__mro__):
            for attr in vars(base).values():
                aws_name = getattr(attr, "__aws_operation__", None)
                if aws_name:
                    table[aws_name] = (attr, inspect.iscoroutinefunction(attr))
        cls.operations = table

    def implements(self, operation_name: str) -> bool:
        return operation_name in self.operations

    async def call(self, operation_name: str, ctx: RequestContext, params: dict[str, Any]) -> Any:
        entry = self.operations.get(operation_name)
        if entry is None:
            raise NotImplementedOperation(self.name, operation_name)
        method, is_async = entry
        if is_async:
            return await method(self, ctx, params)
        return method(self, ctx, params)

    # -- lifecycle hooks the composition root calls --------------------------------------------------
    def restore(self, rows: dict[str, list[tuple[str, bytes]]]) -> None:
        """Rebuild the models from journal rows grouped by namespace (start-up replay)."""

    def reset(self) -> None:
        """Forget all state (POST /_miniaws/reset)."""

    async def start(self) -> None:
        """Start background work (timers, listeners) after restore."""

    async def stop(self) -> None:
        """Stop background work; called before the journal closes."""

    def health(self) -> str:
        return "running"

