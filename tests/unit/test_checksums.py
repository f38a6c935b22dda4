"""S3 flexible checksums: check values, the vectorised CRC path against a bitwise reference,
agreement with botocore, CRC combination and the composite multipart format."""
from __future__ import annotations

import base64
import hashlib
import random
import zlib

import pytest
from botocore.httpchecksum import Crc32Checksum, Sha1Checksum, Sha256Checksum

from miniaws.core.auth import InvalidRequest
from miniaws.core.checksums import (
    ALGORITHMS,
    BadDigest,
    algorithm_from_headers,
    checksum_b64,
    combine_crc,
    combine_crcs,
    composite_checksum,
    crc_from_b64,
    crc_to_b64,
    crc_value,
    header_name,
    new_hasher,
    verify_checksum,
)

CHECK = b"123456789"
CRC_PARAMS = {  # width, reflected polynomial: the catalogue definitions, for an independent reference
    "CRC32": (32, 0xEDB88320),
    "CRC32C": (32, 0x82F63B78),
    "CRC64NVME": (64, 0x9A6C9329AC4BC9B5),
}


def reference_crcs(algorithm: str, data: bytes, sizes: list[int]) -> dict[int, int]:
    """Bit-at-a-time reflected CRC (init and xorout all ones) of each prefix data[:size]."""
    width, poly = CRC_PARAMS[algorithm]
    mask = (1 << width) - 1
    crc = mask
    out = {0: 0}
    for i, byte in enumerate(data[:max(sizes)], 1):
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        if i in sizes:
            out[i] = crc ^ mask
    return out


def reference_crc(algorithm: str, data: bytes) -> int:
    return reference_crcs(algorithm, data, [len(data)])[len(data)]


@pytest.mark.parametrize(("algorithm", "expected"), [
    ("CRC32", 0xCBF43926), ("CRC32C", 0xE3069283), ("CRC64NVME", 0xAE8B14860A799888),
])
def test_check_values(algorithm: str, expected: int) -> None:
    assert crc_value(algorithm, CHECK) == expected
    assert reference_crc(algorithm, CHECK) == expected
    width = CRC_PARAMS[algorithm][0]
    assert checksum_b64(algorithm, CHECK) == base64.b64encode(expected.to_bytes(width // 8, "big")).decode()


def test_hash_algorithms_and_md5() -> None:
    assert new_hasher("sha1").digest() == hashlib.sha1(b"").digest()
    assert checksum_b64("SHA256", CHECK) == base64.b64encode(hashlib.sha256(CHECK).digest()).decode()
    md5 = new_hasher("MD5")
    md5.update(CHECK)
    assert md5.digest() == hashlib.md5(CHECK).digest()
    assert ALGORITHMS == ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")
    with pytest.raises(InvalidRequest):
        new_hasher("XXHASH64")


@pytest.mark.parametrize("algorithm", ["CRC32C", "CRC64NVME"])
def test_vectorised_path_matches_reference(algorithm: str) -> None:
    rng = random.Random(algorithm)
    data = rng.randbytes(9000)
    # Sizes around the vector threshold (4096) and the step width (128).
    sizes = [0, 1, 127, 4095, 4096, 4097, 4096 + 128 * 3 + 1, 9000]
    expected = reference_crcs(algorithm, data, sizes)
    for size in sizes:
        assert crc_value(algorithm, data[:size]) == expected[size], size
    # Incremental updates with random boundaries (small ones are gathered, large ones cross the
    # 256 KiB block) agree with one shot, and memoryview input works.
    big = rng.randbytes(300_001)
    one_shot = crc_value(algorithm, big)
    for _ in range(2):
        h = new_hasher(algorithm)
        cuts = sorted(rng.sample(range(1, len(big)), 6) + [100, 200, 5000])
        for a, b in zip([0, *cuts], [*cuts, len(big)]):
            h.update(memoryview(big)[a:b])
        assert h.value == one_shot  # type: ignore[union-attr]


def test_large_buffer_against_byte_loop() -> None:
    data = random.Random(5).randbytes(300_000)
    for algorithm in ("CRC32C", "CRC64NVME"):
        # Across a 256 KiB block boundary, checked by continuing from a small-input (per-byte) CRC.
        head = crc_value(algorithm, data[:1000])
        tail = crc_value(algorithm, data[1000:])
        assert combine_crc(algorithm, head, tail, len(data) - 1000) == crc_value(algorithm, data)


@pytest.mark.parametrize(("ours", "theirs"), [("CRC32", Crc32Checksum), ("SHA1", Sha1Checksum),
                                              ("SHA256", Sha256Checksum)])
def test_agrees_with_botocore(ours: str, theirs: type) -> None:
    data = random.Random(ours).randbytes(70_000)
    boto = theirs()
    boto.update(data)
    assert checksum_b64(ours, data) == boto.b64digest()


@pytest.mark.parametrize("algorithm", ["CRC32C", "CRC64NVME"])
def test_agrees_with_botocore_crt(algorithm: str) -> None:
    pytest.importorskip("awscrt")
    from botocore.httpchecksum import CrtCrc32cChecksum, CrtCrc64NvmeChecksum

    boto = {"CRC32C": CrtCrc32cChecksum, "CRC64NVME": CrtCrc64NvmeChecksum}[algorithm]()
    data = random.Random(algorithm).randbytes(70_000)
    boto.update(data)
    assert checksum_b64(algorithm, data) == boto.b64digest()


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME"])
def test_combine_crc_over_random_splits(algorithm: str) -> None:
    rng = random.Random(algorithm + "combine")
    data = rng.randbytes(20_000)
    whole = crc_value(algorithm, data)
    for cut in [0, 1, len(data) - 1, len(data), *rng.sample(range(len(data)), 20)]:
        a, b = data[:cut], data[cut:]
        assert combine_crc(algorithm, crc_value(algorithm, a), crc_value(algorithm, b), len(b)) == whole
    # A whole multipart upload: (crc, length) of each part in order.
    cuts = sorted(rng.sample(range(1, len(data)), 5))
    parts = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)])]
    assert combine_crcs(algorithm, [(crc_value(algorithm, p), len(p)) for p in parts]) == whole
    assert combine_crcs(algorithm, []) == crc_value(algorithm, b"")


def test_composite_checksum_format() -> None:
    parts = [b"part one", b"part two" * 100, b"3"]
    crc_digests = [zlib.crc32(p).to_bytes(4, "big") for p in parts]
    expected = base64.b64encode(zlib.crc32(b"".join(crc_digests)).to_bytes(4, "big")).decode()
    assert composite_checksum("CRC32", crc_digests) == f"{expected}-3"
    sha_digests = [hashlib.sha256(p).digest() for p in parts]
    sha_expected = base64.b64encode(hashlib.sha256(b"".join(sha_digests)).digest()).decode()
    assert composite_checksum("sha256", sha_digests) == f"{sha_expected}-3"


def test_header_names_and_algorithm_from_headers() -> None:
    assert header_name("crc64nvme") == "x-amz-checksum-crc64nvme"
    assert algorithm_from_headers({"X-Amz-Checksum-CRC32C": "abc="}) == "CRC32C"
    assert algorithm_from_headers({"x-amz-sdk-checksum-algorithm": "sha1"}) == "SHA1"
    assert algorithm_from_headers({"x-amz-trailer": "x-amz-checksum-crc64nvme"}) == "CRC64NVME"
    assert algorithm_from_headers({"x-amz-checksum-type": "FULL_OBJECT", "content-md5": "x"}) is None
    with pytest.raises(InvalidRequest, match="Multiple checksum Types"):
        algorithm_from_headers({"x-amz-checksum-crc32": "a", "x-amz-checksum-sha1": "b"})
    with pytest.raises(InvalidRequest):
        algorithm_from_headers({"x-amz-sdk-checksum-algorithm": "md4"})


def test_b64_round_trip_and_bad_digest() -> None:
    value = crc_value("CRC64NVME", CHECK)
    assert crc_from_b64("CRC64NVME", crc_to_b64("CRC64NVME", value)) == value
    with pytest.raises(InvalidRequest):
        crc_from_b64("CRC32", "not base64!")
    with pytest.raises(InvalidRequest):
        crc_from_b64("CRC32", crc_to_b64("CRC64NVME", value))
    verify_checksum("CRC32", "AAAAAA==", "AAAAAA==")
    with pytest.raises(BadDigest, match="The CRC32 you specified did not match the calculated checksum."):
        verify_checksum("crc32", "AAAAAA==", "AAAAAQ==")
