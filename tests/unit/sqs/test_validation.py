"""Message body characters: what SQS accepts (the W3C XML characters #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD |
#x10000-#x10FFFF, SendMessage reference), through both the ASCII fast path and the general check."""
from __future__ import annotations

import pytest

from miniaws.services.sqs.errors import InvalidMessageContents
from miniaws.services.sqs.validation import check_body

VALID = ["plain", "tab\tnew\nline\rreturn", "del \x7f", " ", "é\u00a0\ud7ff\ue000\ufffd", "emoji \U0001f600 \n",
         "\U0010ffff"]
INVALID = ["nul \x00", "vt \x0b", "ff \x0c", "unit \x1f", "é and \x00", "é and \x1f", "\ufffe", "\uffff",
           "lone \ud800 surrogate"]


@pytest.mark.parametrize("body", VALID)
def test_valid_bodies_come_back_as_their_utf8(body: str) -> None:
    assert check_body(body) == body.encode("utf-8")


@pytest.mark.parametrize("body", INVALID)
def test_invalid_characters_are_refused(body: str) -> None:
    with pytest.raises(InvalidMessageContents):
        check_body(body)
