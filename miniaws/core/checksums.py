"""S3 flexible checksums: CRC32, CRC32C, CRC64NVME, SHA1, SHA256 (and MD5 for ETag/Content-MD5).

Owns the incremental hashers, the header names, composite (checksum-of-checksums) and full-object
(CRC-combination) multipart checksums. CRC32C and CRC64NVME are pure Python, table driven and
block-vectorised (see `_Crc._update_blocks`); CRC32 uses zlib.
"""
from __future__ import annotations

import base64
import hashlib
import sys
import zlib
from array import array
from collections.abc import Iterable, Mapping
from typing import Final, Protocol

from miniaws.core.auth import InvalidRequest
from miniaws.core.errors import BadDigest, InvalidDigest

#: The algorithms of https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
ALGORITHMS: Final[tuple[str, ...]] = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")
CRC_ALGORITHMS: Final[frozenset[str]] = frozenset({"CRC32", "CRC32C", "CRC64NVME"})
#: Multipart checksum types S3 accepts per algorithm: SHA-* only COMPOSITE, CRC64NVME only FULL_OBJECT.
COMPOSITE_ALGORITHMS: Final[frozenset[str]] = frozenset({"CRC32", "CRC32C", "SHA1", "SHA256"})
FULL_OBJECT_ALGORITHMS: Final[frozenset[str]] = CRC_ALGORITHMS

_HEADER_NAMES: Final[dict[str, str]] = {alg: "x-amz-checksum-" + alg.lower() for alg in ALGORITHMS}
_ALG_BY_HEADER: Final[dict[str, str]] = {v: k for k, v in _HEADER_NAMES.items()}


class Hasher(Protocol):
    algorithm: str

    def update(self, data: bytes | bytearray | memoryview) -> None: ...

    def digest(self) -> bytes: ...

    def b64(self) -> str: ...


def normalize_algorithm(algorithm: str) -> str:
    """Upper-case `algorithm` and check it is one S3 knows (or MD5); raise InvalidRequest if not."""
    alg = algorithm.strip().upper()
    if alg not in _HEADER_NAMES and alg != "MD5":
        raise InvalidRequest(f"Checksum algorithm {algorithm!r} is not supported.")
    return alg


def header_name(algorithm: str) -> str:
    """'CRC32' -> 'x-amz-checksum-crc32'."""
    return _HEADER_NAMES[normalize_algorithm(algorithm)]


def algorithm_from_headers(headers: Mapping[str, str]) -> str | None:
    """The checksum algorithm a request names: an x-amz-checksum-* value, else the SDK's
    x-amz-sdk-checksum-algorithm, else an x-amz-trailer that announces one; None when none."""
    lower: dict[str, str] = {}
    for name, value in headers.items():
        lower.setdefault(name.lower(), value)
    found = [alg for header, alg in _ALG_BY_HEADER.items() if header in lower]
    if len(found) > 1:
        # S3's answer when a request carries two x-amz-checksum-<alg> headers.
        raise InvalidRequest("Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
    if found:
        return found[0]
    sdk = lower.get("x-amz-sdk-checksum-algorithm")
    if sdk:
        alg = sdk.strip().upper()
        if alg not in _HEADER_NAMES:
            raise InvalidRequest("Value for x-amz-sdk-checksum-algorithm header is invalid.")
        return alg
    trailer = lower.get("x-amz-trailer")
    if trailer:
        for name in trailer.split(","):
            announced = _ALG_BY_HEADER.get(name.strip().lower())
            if announced is not None:
                return announced
    return None


# --------------------------------------------------------------------------------------- CRC engine
_BLOCK_POSITIONS: Final = 128       # bytes per vectorised step (D)
_BLOCK_BYTES: Final = 256 * 1024    # input is vectorised in blocks of this size (stays in L2)
_VECTOR_MIN: Final = 4096           # below this the per-byte loop is cheaper than the vector set-up
_LITTLE_ENDIAN: Final = sys.byteorder == "little"


class _Crc:
    """One reflected CRC (init and xorout all ones), e.g. CRC-32C or CRC-64/NVME.

    Byte-at-a-time is ~9 MB/s in CPython. `_update_blocks` instead treats the input as steps of
    D bytes: the register after a step is J(register) ^ pre(step), where J (advance over D zero
    bytes) and pre (the CRC of the step's bytes from a zero register) are both linear. pre is
    computed for all steps at once with C-speed primitives: for each position p in the step, the
    column data[p::D] goes through bytes.translate (one 256-byte table per output byte of the
    position's contribution) and the planes are XORed as big ints. Only `register = J(register)
    ^ pre` stays in a Python loop, once per D bytes.
    """

    __slots__ = ("name", "width", "poly", "mask", "nbytes", "table", "_fast")

    def __init__(self, name: str, width: int, reflected_poly: int) -> None:
        self.name = name
        self.width = width
        self.poly = reflected_poly
        self.mask = (1 << width) - 1
        self.nbytes = width // 8
        table: list[int] = []
        for byte in range(256):
            c = byte
            for _ in range(8):
                c = (c >> 1) ^ reflected_poly if c & 1 else c >> 1
            table.append(c)
        self.table = table
        self._fast: tuple[list[list[bytes]], list[array[int]]] | None = None

    # -- raw register operations (no init/xorout)
    def _update_bytes(self, reg: int, data: bytes | bytearray | memoryview) -> int:
        table = self.table
        for byte in data:
            reg = table[(reg ^ byte) & 0xFF] ^ (reg >> 8)
        return reg

    def _fast_tables(self) -> tuple[list[list[bytes]], list[array[int]]]:
        # Built on first use of a large buffer (~20-50 ms), then immutable.
        if self._fast is not None:
            return self._fast
        d, nb, table = _BLOCK_POSITIONS, self.nbytes, self.table
        # shifted[k][b]: the register after byte b then k zero bytes, from a zero register.
        shifted = [table]
        for _ in range(1, d):
            prev = shifted[-1]
            shifted.append([table[c & 0xFF] ^ (c >> 8) for c in prev])
        planes: list[list[bytes]] = []
        for p in range(d):
            packed = b"".join(v.to_bytes(nb, "little") for v in shifted[d - 1 - p])
            planes.append([packed[q::nb] for q in range(nb)])
        # J (D zero bytes) on the register, as 16-bit-indexed tables: byte j of the register meets
        # the table as data byte j of the step, i.e. shifted[D-1-j].
        typecode = "I" if nb == 4 else "Q"
        jump: list[array[int]] = []
        for i in range(nb // 2):
            lo, hi = shifted[d - 1 - 2 * i], shifted[d - 2 - 2 * i]
            jump.append(array(typecode, [h ^ low for h in hi for low in lo]))
        self._fast = (planes, jump)
        return self._fast

    def _update_blocks(self, reg: int, data: bytes) -> int:
        d, nb = _BLOCK_POSITIONS, self.nbytes
        steps = len(data) // d
        end = steps * d
        planes, jump = self._fast_tables()
        from_bytes = int.from_bytes
        acc = [0] * nb
        for p in range(d):
            column = data[p:end:d]
            tables = planes[p]
            for q in range(nb):
                acc[q] ^= from_bytes(column.translate(tables[q]), "little")
        interleaved = bytearray(steps * nb)
        for q in range(nb):
            interleaved[q::nb] = acc[q].to_bytes(steps, "little")
        if nb == 4:
            pre32 = memoryview(interleaved).cast("I")
            j0, j1 = jump
            for pre in pre32:
                reg = j0[reg & 0xFFFF] ^ j1[reg >> 16] ^ pre
        else:
            pre64 = memoryview(interleaved).cast("Q")
            j0, j1, j2, j3 = jump
            for pre in pre64:
                reg = (j0[reg & 0xFFFF] ^ j1[(reg >> 16) & 0xFFFF] ^ j2[(reg >> 32) & 0xFFFF]
                       ^ j3[reg >> 48] ^ pre)
        return self._update_bytes(reg, data[end:])

    def update(self, reg: int, data: bytes | bytearray | memoryview) -> int:
        n = len(data)
        if n < _VECTOR_MIN or not _LITTLE_ENDIAN:
            return self._update_bytes(reg, data)
        raw = data if isinstance(data, bytes) else bytes(data)
        for start in range(0, n, _BLOCK_BYTES):
            block = raw[start:start + _BLOCK_BYTES]
            if len(block) < _VECTOR_MIN:
                return self._update_bytes(reg, block)
            reg = self._update_blocks(reg, block)
        return reg

    def compute(self, data: bytes | bytearray | memoryview, crc: int = 0) -> int:
        """CRC of `data`, continuing from a previous final `crc` value (0 to start)."""
        return self.update(crc ^ self.mask, data) ^ self.mask

    # -- GF(2) arithmetic for combining, in the reflected representation
    def _mulmod(self, a: int, b: int) -> int:
        """a*b mod P; bit (width-1) holds x^0, bit 0 holds x^(width-1)."""
        top = 1 << (self.width - 1)
        product = 0
        m = top
        while a:
            if a & m:
                product ^= b
                a ^= m
            m >>= 1
            b = (b >> 1) ^ self.poly if b & 1 else b >> 1
        return product

    def _x_pow_8n(self, n: int) -> int:
        """x^(8n) mod P by square-and-multiply."""
        result = 1 << (self.width - 1)          # x^0
        base = 1 << (self.width - 1 - 8) if self.width > 8 else 0  # x^8
        while n:
            if n & 1:
                result = self._mulmod(result, base)
            base = self._mulmod(base, base)
            n >>= 1
        return result

    def combine(self, crc_a: int, crc_b: int, len_b: int) -> int:
        # Processing B after A from register r gives Z^len_b(r) ^ crc_from_zero(B). With init ==
        # xorout == all ones the init/xorout terms cancel and crc(A||B) = crc_a * x^(8 len_b) ^ crc_b.
        if len_b == 0:
            return crc_a
        return self._mulmod(crc_a, self._x_pow_8n(len_b)) ^ crc_b


_CRC32C: Final = _Crc("CRC32C", 32, 0x82F63B78)
_CRC64NVME: Final = _Crc("CRC64NVME", 64, 0x9A6C9329AC4BC9B5)
_CRC32: Final = _Crc("CRC32", 32, 0xEDB88320)   # only for combine(); hashing uses zlib
_CRCS: Final[dict[str, _Crc]] = {"CRC32": _CRC32, "CRC32C": _CRC32C, "CRC64NVME": _CRC64NVME}


class CrcHasher:
    """Incremental CRC; digest() is the big-endian value S3 base64-encodes in x-amz-checksum-*."""

    __slots__ = ("algorithm", "_crc", "_reg", "_zlib", "_pending", "length")

    #: small updates are gathered up to this size so the vectorised path still applies
    GATHER: Final = 64 * 1024

    def __init__(self, algorithm: str) -> None:
        self.algorithm = algorithm
        self._crc = _CRCS[algorithm]
        self._zlib = algorithm == "CRC32"
        self._reg = 0 if self._zlib else self._crc.mask
        self._pending = bytearray()
        #: bytes hashed so far (what combine_crc needs as len_b)
        self.length = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self.length += len(data)
        if self._zlib:
            self._reg = zlib.crc32(data, self._reg)
        elif self._pending or len(data) < self.GATHER:
            self._pending += data
            if len(self._pending) >= self.GATHER:
                self._reg = self._crc.update(self._reg, self._pending)
                self._pending.clear()
        else:
            self._reg = self._crc.update(self._reg, data)

    @property
    def value(self) -> int:
        if self._pending:
            self._reg = self._crc.update(self._reg, self._pending)
            self._pending.clear()
        return self._reg if self._zlib else self._reg ^ self._crc.mask

    def digest(self) -> bytes:
        return self.value.to_bytes(self._crc.nbytes, "big")

    def b64(self) -> str:
        return base64.b64encode(self.digest()).decode("ascii")


class HashlibHasher:
    """SHA1, SHA256 and MD5 through hashlib."""

    __slots__ = ("algorithm", "_h")

    def __init__(self, algorithm: str) -> None:
        self.algorithm = algorithm
        # MD5/SHA1 here are integrity checksums, not security: keep them usable under FIPS builds.
        self._h = hashlib.new(algorithm.lower(), usedforsecurity=False)

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._h.update(data)

    def digest(self) -> bytes:
        return self._h.digest()

    def hexdigest(self) -> str:
        return self._h.hexdigest()

    def b64(self) -> str:
        return base64.b64encode(self._h.digest()).decode("ascii")


def new_hasher(algorithm: str) -> CrcHasher | HashlibHasher:
    """A fresh hasher for CRC32/CRC32C/CRC64NVME/SHA1/SHA256/MD5 (case-insensitive)."""
    alg = normalize_algorithm(algorithm)
    if alg in _CRCS:
        return CrcHasher(alg)
    return HashlibHasher(alg)


def checksum_b64(algorithm: str, data: bytes | bytearray | memoryview) -> str:
    """One-shot base64 checksum, as it appears in x-amz-checksum-<alg>."""
    h = new_hasher(algorithm)
    h.update(data)
    return h.b64()


def crc_value(algorithm: str, data: bytes | bytearray | memoryview) -> int:
    """One-shot CRC as an int."""
    h = CrcHasher(normalize_algorithm(algorithm))
    h.update(data)
    return h.value


def crc_to_b64(algorithm: str, value: int) -> str:
    crc = _CRCS[normalize_algorithm(algorithm)]
    return base64.b64encode(value.to_bytes(crc.nbytes, "big")).decode("ascii")


def crc_from_b64(algorithm: str, encoded: str) -> int:
    """Parse an x-amz-checksum-<crc> value; InvalidRequest when it is not the algorithm's size."""
    crc = _CRCS[normalize_algorithm(algorithm)]
    try:
        raw = base64.b64decode(encoded, validate=True)
    except ValueError:
        raw = b""
    if len(raw) != crc.nbytes:
        raise InvalidRequest(f"Value for x-amz-checksum-{crc.name.lower()} header is invalid.")
    return int.from_bytes(raw, "big")


def verify_checksum(algorithm: str, expected_b64: str, actual_b64: str) -> None:
    """Raise S3's BadDigest when a client-supplied checksum differs from the computed one."""
    if expected_b64 != actual_b64:
        alg = normalize_algorithm(algorithm)
        raise BadDigest(f"The {alg} you specified did not match the calculated checksum.")


def composite_checksum(algorithm: str, part_digests: list[bytes]) -> str:
    """S3's COMPOSITE multipart checksum: checksum of the concatenated raw part digests, '-N'."""
    h = new_hasher(algorithm)
    for digest in part_digests:
        h.update(digest)
    return f"{h.b64()}-{len(part_digests)}"


def combine_crc(algorithm: str, crc_a: int, crc_b: int, len_b: int) -> int:
    """crc(A || B) from crc(A), crc(B) and len(B): S3's FULL_OBJECT checksum of multipart parts."""
    return _CRCS[normalize_algorithm(algorithm)].combine(crc_a, crc_b, len_b)


def combine_crcs(algorithm: str, parts: Iterable[tuple[int, int]]) -> int:
    """Fold (crc, length) pairs, in part order, into the whole object's CRC."""
    crc = _CRCS[normalize_algorithm(algorithm)]
    total = 0
    for value, length in parts:
        total = crc.combine(total, value, length)
    return total
