"""aws-chunked decoding: AWS's published streaming examples, awkward splits, tampering, truncation,
and the unsigned-trailer form botocore sends."""
from __future__ import annotations

import io
import random

import pytest
from botocore.httpchecksum import AwsChunkedWrapper, Crc32Checksum

from miniaws.core.auth import (
    STREAMING_SIGNED,
    STREAMING_SIGNED_TRAILER,
    ChunkSignatureChain,
    CredentialScope,
    InvalidRequest,
    SigV4Verifier,
    VerifiedRequest,
    derive_signing_key,
)
from miniaws.core.checksums import checksum_b64
from miniaws.core.clock import FakeClock
from miniaws.core.errors import IncompleteSignature, SignatureDoesNotMatch
from miniaws.protocols.aws_chunked import (
    AwsChunkedDecoder,
    IncompleteBody,
    InvalidChunkSizeError,
)

# The worked examples of https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html and
# sigv4-streaming-trailers.html: 64 KiB + 1 KiB of 'a', then the 0-byte chunk.
EXAMPLE_KEY = "AKIAIOSFODNN7EXAMPLE"
EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
EXAMPLE_TIME = 1369353600.0  # 20130524T000000Z
EXAMPLE_SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
EXAMPLE_CHUNK_SIGNATURES = [
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
]
TRAILER_SEED = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
TRAILER_CHUNK_SIGNATURES = [
    "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
    "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
    "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
]
TRAILER_SIGNATURE = "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"
PAYLOAD = b"a" * 66560


def _example_headers(trailer: bool) -> dict[str, str]:
    if trailer:
        signed = ("content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;"
                  "x-amz-storage-class;x-amz-trailer")
        seed = TRAILER_SEED
    else:
        signed = ("content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
                  "x-amz-decoded-content-length;x-amz-storage-class")
        seed = EXAMPLE_SEED
    headers = {
        "Host": "s3.amazonaws.com",
        "x-amz-date": "20130524T000000Z",
        "x-amz-storage-class": "REDUCED_REDUNDANCY",
        "x-amz-content-sha256": STREAMING_SIGNED_TRAILER if trailer else STREAMING_SIGNED,
        "Content-Encoding": "aws-chunked",
        "x-amz-decoded-content-length": "66560",
        "Authorization": f"AWS4-HMAC-SHA256 Credential={EXAMPLE_KEY}/20130524/us-east-1/s3/aws4_request,"
                         f"SignedHeaders={signed},Signature={seed}",
    }
    if trailer:
        headers["x-amz-trailer"] = "x-amz-checksum-crc32c"
    else:
        headers["Content-Length"] = "66824"
    return headers


def example_verified(trailer: bool = False) -> VerifiedRequest:
    verifier = SigV4Verifier({EXAMPLE_KEY: EXAMPLE_SECRET}, FakeClock(EXAMPLE_TIME))
    return verifier.verify("PUT", "/examplebucket/chunkObject.txt", "", _example_headers(trailer), None)


def example_body(trailer: bool = False) -> bytes:
    sigs = TRAILER_CHUNK_SIGNATURES if trailer else EXAMPLE_CHUNK_SIGNATURES
    body = (b"10000;chunk-signature=" + sigs[0].encode() + b"\r\n" + b"a" * 65536 + b"\r\n"
            + b"400;chunk-signature=" + sigs[1].encode() + b"\r\n" + b"a" * 1024 + b"\r\n"
            + b"0;chunk-signature=" + sigs[2].encode() + b"\r\n")
    if trailer:
        body += b"x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:" + TRAILER_SIGNATURE.encode() + b"\r\n"
    return body + b"\r\n"


def decode(decoder: AwsChunkedDecoder, pieces: list[bytes]) -> bytes:
    out: list[bytes] = []
    for piece in pieces:
        out.extend(decoder.feed(piece))
    decoder.finish()
    return b"".join(out)


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted(cuts), len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:])]


# ------------------------------------------------------------------------------ the AWS examples
def test_aws_example_seed_and_chunk_signatures() -> None:
    verified = example_verified()
    assert verified.seed_signature == EXAMPLE_SEED
    assert verified.payload_mode == STREAMING_SIGNED
    chain = ChunkSignatureChain(verified)
    assert [chain.sign_chunk(b"a" * 65536), chain.sign_chunk(b"a" * 1024), chain.sign_chunk(b"")] == \
        EXAMPLE_CHUNK_SIGNATURES
    assert len(example_body()) == 66824  # the example's Content-Length


def test_aws_example_decodes() -> None:
    decoder = AwsChunkedDecoder(ChunkSignatureChain(example_verified()))
    assert decode(decoder, [example_body()]) == PAYLOAD
    assert decoder.decoded_length == 66560 and decoder.trailers == {} and decoder.done


def test_aws_example_split_around_every_framing_boundary() -> None:
    body = example_body()
    header_len = body.index(b"\r\n") + 2
    second = header_len + 65536 + 2
    boundaries = [header_len, header_len + 65536, second, second + body[second:].index(b"\r\n") + 2,
                  len(body) - 90, len(body) - 2]
    cuts = sorted({c for b in boundaries for c in range(b - 3, b + 4)} | set(range(1, 100)))
    for cut in cuts:
        decoder = AwsChunkedDecoder(ChunkSignatureChain(example_verified()))
        assert decode(decoder, split_at(body, [cut])) == PAYLOAD, cut


def test_aws_example_random_splits() -> None:
    body = example_body()
    rng = random.Random(7)
    for _ in range(20):
        cuts = rng.sample(range(1, len(body)), rng.randint(1, 40))
        assert decode(AwsChunkedDecoder(ChunkSignatureChain(example_verified())), split_at(body, cuts)) == PAYLOAD


def test_aws_trailer_example_decodes_and_verifies_trailer() -> None:
    verified = example_verified(trailer=True)
    assert verified.payload_mode == STREAMING_SIGNED_TRAILER
    decoder = AwsChunkedDecoder(ChunkSignatureChain(verified), expect_trailer_signature=True)
    body = example_body(trailer=True)
    assert decode(decoder, split_at(body, [len(body) - 50, len(body) - 1])) == PAYLOAD
    assert decoder.trailers == {"x-amz-checksum-crc32c": "sOO8/Q=="}
    assert checksum_b64("CRC32C", PAYLOAD) == "sOO8/Q=="


def test_tampered_trailer_or_missing_trailer_signature() -> None:
    body = example_body(trailer=True).replace(b"sOO8/Q==", b"AAAAAA==")
    decoder = AwsChunkedDecoder(ChunkSignatureChain(example_verified(True)), expect_trailer_signature=True)
    with pytest.raises(SignatureDoesNotMatch):
        decode(decoder, [body])
    unsigned = example_body(trailer=True).replace(
        b"x-amz-trailer-signature:" + TRAILER_SIGNATURE.encode() + b"\r\n", b"")
    decoder = AwsChunkedDecoder(ChunkSignatureChain(example_verified(True)), expect_trailer_signature=True)
    with pytest.raises(IncompleteSignature):
        decode(decoder, [unsigned])


# --------------------------------------------------------------------------- signed: small bodies
def small_chain() -> ChunkSignatureChain:
    scope = CredentialScope("AKID", "20260101", "us-east-1", "s3")
    key = derive_signing_key("secret", "20260101", "us-east-1", "s3")
    verified = VerifiedRequest("AKID", scope, key, "0" * 64, "20260101T000000Z", STREAMING_SIGNED)
    return ChunkSignatureChain(verified)


def signed_body(chunks: list[bytes], trailers: bytes = b"") -> bytes:
    chain = small_chain()
    out = b""
    for chunk in [*chunks, b""]:
        out += b"%x;chunk-signature=%s\r\n" % (len(chunk), chain.sign_chunk(chunk).encode())
        if chunk:
            out += chunk + b"\r\n"
    if trailers:
        out += trailers + b"x-amz-trailer-signature:" + chain.sign_trailer(trailers).encode() + b"\r\n"
    return out + b"\r\n"


SMALL_CHUNKS = [b"hello ", b"aws-chunked\r\n", b"\x00\xff" * 5, b"end"]


def test_signed_small_body_fed_one_byte_at_a_time() -> None:
    body = signed_body(SMALL_CHUNKS, trailers=b"x-amz-checksum-crc32:NSRBwg==\r\n")
    decoder = AwsChunkedDecoder(small_chain(), expect_trailer_signature=True, min_chunk_size=0)
    out = decode(decoder, [body[i:i + 1] for i in range(len(body))])
    assert out == b"".join(SMALL_CHUNKS)
    assert decoder.trailers == {"x-amz-checksum-crc32": "NSRBwg=="}


def test_signed_output_is_held_until_the_chunk_verifies() -> None:
    body = signed_body([b"x" * 100])
    decoder = AwsChunkedDecoder(small_chain())
    header_end = body.index(b"\r\n") + 2
    assert decoder.feed(body[:header_end + 99]) == []
    assert decoder.feed(body[header_end + 99:]) == [b"x" * 99, b"x"]


@pytest.mark.parametrize("tamper", ["data", "signature", "order", "final-signature"])
def test_tampered_chunks_are_refused(tamper: str) -> None:
    chunks = [b"A" * 9000, b"B" * 9000, b"C" * 10]
    if tamper == "order":
        good = signed_body(chunks)
        first = good.index(b"\r\n") + 2 + 9000 + 2
        second = first + good[first:].index(b"\r\n") + 2 + 9000 + 2
        body = good[first:second] + good[:first] + good[second:]
    else:
        body = signed_body(chunks)
        if tamper == "data":
            body = body.replace(b"B" * 10, b"B" * 9 + b"b", 1)
        elif tamper == "signature":
            i = body.index(b"chunk-signature=") + 16
            body = body[:i] + (b"1" if body[i:i + 1] != b"1" else b"2") + body[i + 1:]
        else:
            i = body.rindex(b"chunk-signature=") + 16
            body = body[:i] + (b"1" if body[i:i + 1] != b"1" else b"2") + body[i + 1:]
    decoder = AwsChunkedDecoder(small_chain())
    with pytest.raises(SignatureDoesNotMatch):
        decode(decoder, [body])
    with pytest.raises(InvalidRequest):  # a rejected stream stays rejected
        decoder.feed(b"0")


def test_short_chunk_before_the_last_is_refused() -> None:
    body = signed_body([b"a" * 100, b"b" * 9000])
    with pytest.raises(InvalidChunkSizeError) as info:
        decode(AwsChunkedDecoder(small_chain()), [body])
    assert info.value.fields == {"Chunk": "2", "BadChunkSize": "100"}
    # Only the last data chunk may be short.
    assert decode(AwsChunkedDecoder(small_chain()), [signed_body([b"a" * 8192, b"b" * 5])]) == \
        b"a" * 8192 + b"b" * 5


def test_missing_chunk_signature() -> None:
    with pytest.raises(IncompleteSignature):
        decode(AwsChunkedDecoder(small_chain()), [b"3\r\nabc\r\n0\r\n\r\n"])


def test_every_truncation_is_incomplete() -> None:
    body = signed_body(SMALL_CHUNKS)
    for end in range(len(body) - 2):  # the trailing CRLF pair may be cut: see the next test
        decoder = AwsChunkedDecoder(small_chain(), min_chunk_size=0)
        decoder.feed(body[:end])
        with pytest.raises(IncompleteBody):
            decoder.finish()


def test_missing_final_empty_line_is_tolerated() -> None:
    body = signed_body(SMALL_CHUNKS)
    assert decode(AwsChunkedDecoder(small_chain(), min_chunk_size=0), [body[:-2]]) == b"".join(SMALL_CHUNKS)


# ----------------------------------------------------------------------------------- unsigned
def test_botocore_unsigned_trailer_body() -> None:
    data = bytes(random.Random(1).randbytes(300_000))
    wrapper = AwsChunkedWrapper(io.BytesIO(data), checksum_cls=Crc32Checksum,
                                checksum_name="x-amz-checksum-crc32", chunk_size=65536)
    body = wrapper.read()
    decoder = AwsChunkedDecoder(None)
    rng = random.Random(3)
    assert decode(decoder, split_at(body, rng.sample(range(1, len(body)), 50))) == data
    assert decoder.trailers == {"x-amz-checksum-crc32": checksum_b64("CRC32", data)}
    assert decoder.decoded_length == len(data)


def test_unsigned_without_trailer_and_with_signature_extensions_ignored() -> None:
    assert decode(AwsChunkedDecoder(None), [b"3\r\nabc\r\n0\r\n\r\n"]) == b"abc"
    assert decode(AwsChunkedDecoder(None), [b"3;chunk-signature=zz\r\nabc\r\n0\r\n\r\n"]) == b"abc"
    body = b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n"
    decoder = AwsChunkedDecoder(None)
    assert decode(decoder, [body[i:i + 1] for i in range(len(body))]) == b"hello"
    assert decoder.trailers == {"x-amz-checksum-crc32": "NhCmhg=="}


def test_unsigned_streams_through_and_min_size_is_opt_in() -> None:
    decoder = AwsChunkedDecoder(None)
    buffer = bytearray(b"a\r\n01234")
    assert decoder.feed(buffer) == [b"01234"]
    buffer.extend(b"reused by the caller")  # no view of it is kept
    assert decoder.feed(b"56789\r\n3\r\nabc\r\n0\r\n\r\n") == [b"56789", b"abc"]
    with pytest.raises(InvalidChunkSizeError):
        AwsChunkedDecoder(None, min_chunk_size=8192).feed(b"3\r\nabc\r\n3\r\ndef\r\n")


@pytest.mark.parametrize("body", [
    b"zz\r\nabc\r\n0\r\n\r\n",             # size is not hex
    b"0x3\r\nabc\r\n0\r\n\r\n",            # nor prefixed
    b"3\nabc\r\n0\r\n\r\n",                # LF without CR
    b"3\r\nabcX\r\n0\r\n\r\n",             # data longer than announced
    b"3\r\nabc\r\n0\r\nno-colon\r\n\r\n",  # malformed trailer
    b"3\r\nabc\r\n0\r\n\r\ngarbage",       # data after the end
    b"1" * 5000 + b"\r\n",                 # a header line that never ends
])
def test_malformed_framing(body: bytes) -> None:
    with pytest.raises(InvalidRequest):
        decode(AwsChunkedDecoder(None), [body])


def test_large_unsigned_stream_in_small_pieces() -> None:
    chunk = bytes(range(256)) * 256  # 64 KiB
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(16)) + b"0\r\n\r\n"
    decoder = AwsChunkedDecoder(None)
    total = 0
    view = memoryview(body)
    for i in range(0, len(body), 1000):
        total += sum(len(p) for p in decoder.feed(view[i:i + 1000]))
    decoder.finish()
    assert total == decoder.decoded_length == 16 * 65536
