"""Lambda functions that really run: worker processes behind the session's miniaws (marker: subprocess)."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.config import Config as BotoConfig

from miniaws.testing import MiniAws
from tests.helpers.lambda_code import ROLE, handlers_zip

CODE = handlers_zip()


@pytest.fixture(scope="session")
def lam(miniaws: MiniAws) -> Any:
    return miniaws.client("lambda", config=BotoConfig(retries={"max_attempts": 1}, read_timeout=60))


@pytest.fixture(scope="session")
def make_function(lam: Any) -> Callable[..., str]:
    """Create a function from the shared handlers module; returns its (unique) name."""

    def make(handler: str, **params: Any) -> str:
        name = f"{handler.replace('.', '-')}-{uuid.uuid4().hex[:8]}"
        params.setdefault("Code", {"ZipFile": CODE})
        lam.create_function(FunctionName=name, Runtime=params.pop("Runtime", "python3.12"), Role=ROLE,
                            Handler=handler, **params)
        return name

    return make
