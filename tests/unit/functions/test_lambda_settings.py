"""Lambda settings: CLI flags and environment variables reach the Config; 0 keep-warm is allowed."""
from __future__ import annotations

import pytest

from miniaws.cli import build_config, parse_args
from miniaws.config import ConfigError, load_config
from miniaws.services.lambda_.api_common import _interpreters


def test_flags_and_env() -> None:
    config = build_config(parse_args(["--lambda-concurrency-limit", "5", "--lambda-keep-warm", "0"]))
    assert (config.lambda_concurrency_limit, config.lambda_keep_warm_seconds) == (5, 0.0)
    config = load_config(env={"MINIAWS_LAMBDA_RETRY_DELAY_SECONDS": "0.5", "MINIAWS_LAMBDA_COLD_START_DELAY_MS": "20"})
    assert (config.lambda_retry_delay_seconds, config.lambda_cold_start_delay_ms) == (0.5, 20)


@pytest.mark.parametrize("env", [{"MINIAWS_LAMBDA_KEEP_WARM_SECONDS": "-1"},
                                 {"MINIAWS_LAMBDA_CONCURRENCY_LIMIT": "-3"}])
def test_negative_values_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        load_config(env=env)


def test_interpreter_map() -> None:
    assert _interpreters("python3.12=/usr/bin/python3.12, python3.9 = /opt/py39/bin/python,junk") == {
        "python3.12": "/usr/bin/python3.12", "python3.9": "/opt/py39/bin/python"}
    assert _interpreters(None) == {}
