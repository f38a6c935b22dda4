"""Signatures verify the way AWS's SDK message validators check them: rebuild the canonical string from the
message's fields, verify with the public key of the certificate at SigningCertURL (SHA1withRSA for
SignatureVersion 1, SHA256withRSA for 2)."""
from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from miniaws.services.sns.signing import Signer, string_to_sign


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer.generate()


def verify(message: dict[str, Any], certificate_pem: bytes) -> None:
    """An independent verifier: the string-to-sign built by hand from the documented field lists."""
    fields = {"Notification": ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]}.get(
        message["Type"], ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"])
    canonical = "".join(f"{k}\n{message[k]}\n" for k in fields if k in message).encode()
    key = x509.load_pem_x509_certificate(certificate_pem).public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    digest = hashes.SHA256() if message["SignatureVersion"] == "2" else hashes.SHA1()
    key.verify(base64.b64decode(message["Signature"]), canonical, padding.PKCS1v15(), digest)


NOTIFICATION = {"Type": "Notification", "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
                "TopicArn": "arn:aws:sns:us-west-2:123456789012:MyTopic", "Subject": "My First Message",
                "Message": "Hello world!\nsecond line", "Timestamp": "2012-05-02T00:54:06.655Z"}


@pytest.mark.parametrize("version", ["1", "2"])
@pytest.mark.parametrize("with_subject", [True, False])
def test_notifications_verify(signer: Signer, version: str, with_subject: bool) -> None:
    message = dict(NOTIFICATION)
    if not with_subject:
        del message["Subject"]
    message["SignatureVersion"] = version
    message["Signature"] = signer.sign(message, version)
    verify(message, signer.certificate_pem)
    tampered = {**message, "Message": "Hello world?"}
    with pytest.raises(InvalidSignature):
        verify(tampered, signer.certificate_pem)


def test_versions_use_different_digests(signer: Signer) -> None:
    assert signer.sign(NOTIFICATION, "1") != signer.sign(NOTIFICATION, "2")
    message = {**NOTIFICATION, "SignatureVersion": "1", "Signature": signer.sign(NOTIFICATION, "2")}
    with pytest.raises(InvalidSignature):
        verify(message, signer.certificate_pem)


def test_confirmations_sign_token_and_subscribe_url(signer: Signer) -> None:
    message = {"Type": "SubscriptionConfirmation", "MessageId": "165545c9", "Token": "2336412f37",
               "TopicArn": "arn:aws:sns:us-west-2:123456789012:MyTopic", "Message": "You have chosen …",
               "SubscribeURL": "https://example/?Action=ConfirmSubscription&Token=2336412f37",
               "Timestamp": "2012-04-26T20:45:04.751Z", "SignatureVersion": "2"}
    assert string_to_sign(message) == (
        b"Message\nYou have chosen \xe2\x80\xa6\nMessageId\n165545c9\nSubscribeURL\n"
        b"https://example/?Action=ConfirmSubscription&Token=2336412f37\nTimestamp\n2012-04-26T20:45:04.751Z\n"
        b"Token\n2336412f37\nTopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\nType\nSubscriptionConfirmation\n")
    message["Signature"] = signer.sign(message, "2")
    verify(message, signer.certificate_pem)


def test_the_key_survives_a_round_trip_through_the_journal(signer: Signer) -> None:
    again = Signer.from_record(signer.record())
    assert again.certificate_id == signer.certificate_id
    message = {**NOTIFICATION, "SignatureVersion": "1"}
    message["Signature"] = again.sign(message, "1")
    verify(message, signer.certificate_pem)
