"""Service lifecycle order: callers stop before what they call, so a stopping service never starts a worker."""
from __future__ import annotations

from miniaws.config import load_config
from miniaws.server import Server


async def test_services_that_invoke_functions_stop_before_the_function_runtime() -> None:
    server = Server(load_config(env={}, overrides={"ephemeral": True, "port": 0, "dns_port": 0, "edge_port": 0}))
    await server.start()
    stopped: list[str] = []
    for service in server.services.values():
        original = service.stop

        async def stop(original=original, name=service.name) -> None:  # type: ignore[no-untyped-def]
            stopped.append(name)
            await original()

        service.stop = stop  # type: ignore[method-assign]
    await server.stop()
    assert sorted(stopped) == sorted(server.services)
    position = stopped.index
    for caller in ("cloudfront", "elbv2", "s3", "sns"):
        assert position(caller) < position("lambda"), stopped
    # the runtime's SQS pollers and its log writes end before the queues and log groups do
    assert position("lambda") < position("sqs") and position("lambda") < position("logs"), stopped
