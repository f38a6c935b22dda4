"""STS under enforced auth: query-protocol error codes for bad credentials, identity per access key."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from miniaws.testing import MiniAws, miniaws_server
from tests.api.conftest import make_client


@pytest.fixture(scope="module")
def enforced() -> Iterator[MiniAws]:
    with miniaws_server(auth="enforce", credentials="AKIDSTSALPHA:alpha-secret,111122223333:numeric-secret") as aws:
        yield aws


def test_identity_per_key(enforced: MiniAws) -> None:
    alpha = make_client(enforced.endpoint_url, "sts", aws_access_key_id="AKIDSTSALPHA",
                        aws_secret_access_key="alpha-secret")
    assert alpha.get_caller_identity()["Arn"] == "arn:aws:iam::000000000000:user/AKIDSTSALPHA"
    numeric = make_client(enforced.endpoint_url, "sts", aws_access_key_id="111122223333",
                          aws_secret_access_key="numeric-secret")
    assert numeric.get_caller_identity()["Account"] == "111122223333"


def test_unknown_key_and_wrong_secret(enforced: MiniAws) -> None:
    stranger = make_client(enforced.endpoint_url, "sts", aws_access_key_id="AKIDNOBODY",
                           aws_secret_access_key="x")
    with pytest.raises(ClientError) as err:
        stranger.get_caller_identity()
    assert err.value.response["Error"]["Code"] == "InvalidClientTokenId"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    wrong = make_client(enforced.endpoint_url, "sts", aws_access_key_id="AKIDSTSALPHA",
                        aws_secret_access_key="not-the-secret")
    with pytest.raises(ClientError) as err:
        wrong.get_caller_identity()
    assert err.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
