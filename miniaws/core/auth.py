"""AWS Signature Version 4: credential-scope sniffing for routing, request verification (header and
presigned), the aws-chunked signature chain, and presigned-URL generation.

Canonicalisation follows https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
and S3's variants (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html).
Sans-IO: callers pass the method, the raw path and query and the headers.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Final
from urllib.parse import quote, unquote, unquote_to_bytes, urlsplit, urlunsplit

from miniaws.core.auth_v2 import is_sigv2, verify_sigv2
from miniaws.core.clock import Clock
from miniaws.core.errors import (
    AccessDenied,
    AwsError,
    InvalidArgument,
    InvalidRequest,
    XAmzContentSHA256Mismatch,
    IncompleteSignature,
    InvalidAccessKeyId,
    MissingAuthenticationToken,
    SignatureDoesNotMatch,
)

ALGORITHM: Final = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD: Final = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED: Final = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER: Final = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER: Final = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
#: payload_mode of a request whose x-amz-content-sha256 (or body hash) is a hex digest
SIGNED_PAYLOAD: Final = "SIGNED-PAYLOAD"
STREAMING_MODES: Final = frozenset({STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER})
EMPTY_SHA256: Final = hashlib.sha256(b"").hexdigest()

MAX_SKEW_SECONDS: Final = 15 * 60          # S3 and the other services allow 15 minutes
MAX_PRESIGN_EXPIRES: Final = 7 * 24 * 3600  # 604800 s: X-Amz-Expires upper bound

# SigV4a (ECDSA) is recognised so S3 can refuse it by name; its payload modes are not verified here.
_S3_CONTENT_SHA256_SPECIAL: Final = frozenset({
    UNSIGNED_PAYLOAD, STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER,
})
_S3_SERVICES: Final = frozenset({"s3", "s3-object-lambda"})
_HEX64: Final = re.compile(r"[0-9a-fA-F]{64}")
_INTEGER: Final = re.compile(r"-?[0-9]{1,12}")
_UNRESERVED: Final = re.compile(r"[A-Za-z0-9\-._~]*")
_S3_PATH_FIX: Final = re.compile(r"%[0-9A-Fa-f]{2}|[^A-Za-z0-9\-._~/%]+|%")
_CREDENTIAL_HELP: Final = 'expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
_PRESIGN_REQUIRED: Final = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date",
                            "X-Amz-SignedHeaders", "X-Amz-Expires")
_OTHER_SERVICES_MISMATCH: Final = (
    "The request signature we calculated does not match the signature you provided. Check your AWS "
    "Secret Access Key and signing method. Consult the service documentation for details.")


# ------------------------------------------------------------------------------------------ errors
class AuthorizationHeaderMalformed(AwsError):
    status = 400


class AuthorizationQueryParametersError(AwsError):
    status = 400


class RequestTimeTooSkewed(AwsError):
    status = 403
    default_message = "The difference between the request time and the current time is too large."


# -------------------------------------------------------------------------------------- data types
@dataclass(frozen=True, slots=True)
class CredentialScope:
    access_key: str
    date: str      # YYYYMMDD ("" for SigV2)
    region: str    # "" for SigV2 and SigV4a
    service: str   # "" for SigV2

    @property
    def string(self) -> str:
        """'20130524/us-east-1/s3/aws4_request' as it appears in the string to sign."""
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


@dataclass(frozen=True, slots=True)
class VerifiedRequest:
    """What an accepted signature tells the caller, and what the chunk verifier continues from."""

    access_key: str
    scope: CredentialScope
    signing_key: bytes
    seed_signature: str
    amz_date: str                   # the ISO-8601 basic timestamp used in the string to sign
    payload_mode: str               # UNSIGNED_PAYLOAD, SIGNED_PAYLOAD or one of STREAMING_MODES
    payload_hash: str = ""          # the payload value of the canonical request (hex for SIGNED_PAYLOAD)
    presigned: bool = False
    session_token: str | None = None  # X-Amz-Security-Token, for the caller to validate


# ---------------------------------------------------------------------------- routing-time parsing
def _strict_scope(credential: str) -> CredentialScope | None:
    """AKID/YYYYMMDD/region/service/aws4_request, or None when mal-formed."""
    parts = credential.split("/")
    if (len(parts) != 5 or parts[4] != "aws4_request" or not all(parts[:4]) or len(parts[1]) != 8
            or not parts[1].isdigit()):
        return None
    return CredentialScope(parts[0], parts[1], parts[2], parts[3])


def _scope_from_credential(credential: str) -> CredentialScope | None:
    parts = credential.split("/")
    if len(parts) == 5:
        return CredentialScope(parts[0], parts[1], parts[2], parts[3])
    if len(parts) == 4:  # SigV4a: AKID/date/service/aws4_request (region set in a header)
        return CredentialScope(parts[0], parts[1], "", parts[2])
    return None


def credential_scope(authorization: str | None, query: Mapping[str, str]) -> CredentialScope | None:
    """The credential scope of a signed request without verifying anything (the router's service
    hint); None when the request carries no signature."""
    if authorization:
        if authorization.startswith("AWS4-"):
            start = authorization.find("Credential=")
            if start < 0:
                return None
            start += 11
            end = len(authorization)
            for sep in (",", " "):
                i = authorization.find(sep, start)
                if 0 <= i < end:
                    end = i
            return _scope_from_credential(authorization[start:end])
        if authorization.startswith("AWS "):
            access_key = authorization[4:].partition(":")[0].strip()
            return CredentialScope(access_key, "", "", "") if access_key else None
        return None
    credential = query.get("X-Amz-Credential")
    if credential:
        return _scope_from_credential(credential)
    v2_key = query.get("AWSAccessKeyId")  # SigV2 presigned URL
    if v2_key:
        return CredentialScope(v2_key, "", "", "")
    return None


# ------------------------------------------------------------------------------ canonicalisation
def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def derive_signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    """kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")."""
    k = _hmac(("AWS4" + secret_key).encode("utf-8"), date)
    k = _hmac(k, region)
    k = _hmac(k, service)
    return _hmac(k, "aws4_request")


def _sign(signing_key: bytes, string_to_sign: str) -> str:
    return hmac.new(signing_key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def _aws_encode(raw: str, plus_is_space: bool) -> str:
    """Re-encode one on-the-wire query component the AWS way: RFC 3986 unreserved characters as is,
    everything else %XX upper-case, so '+', '%20', '%2b' and '%7E' all come out consistent."""
    if _UNRESERVED.fullmatch(raw):
        return raw
    if plus_is_space:
        raw = raw.replace("+", " ")
    return quote(unquote_to_bytes(raw), safe="-_.~")


def _query_pairs(raw_query: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    if raw_query:
        for piece in raw_query.split("&"):
            if piece:
                key, _, value = piece.partition("=")
                pairs.append((key, value))
    return pairs


def _canonical_query(pairs: Iterable[tuple[str, str]], mode: str) -> str:
    """mode 'aws': decode and re-encode, '+' as space (form encoding); 'plus': '+' as a literal plus;
    'raw': components exactly as sent (what botocore signs for a URL it built itself)."""
    if mode == "raw":
        encoded = list(pairs)
    else:
        plus = mode == "aws"
        encoded = [(_aws_encode(k, plus), _aws_encode(v, plus)) for k, v in pairs]
    encoded.sort()
    return "&".join(f"{k}={v}" for k, v in encoded)


def _s3_fix(match: re.Match[str]) -> str:
    text = match.group(0)
    if text[0] == "%":
        return text.upper() if len(text) == 3 else "%25"
    return quote(text, safe="")


def _canonical_path(raw_path: str, service: str) -> str:
    if service in _S3_SERVICES:
        # S3 signs the path as sent, encoded once and never normalised ('a//b/../c' is a key);
        # we only complete the encoding of characters a client left raw.
        return _S3_PATH_FIX.sub(_s3_fix, raw_path) if raw_path else "/"
    # Other services: remove '.'/'..' and empty segments, then URI-encode the (already encoded)
    # path a second time, as the SigV4 guide prescribes for every service except S3.
    segments: list[str] = []
    for segment in raw_path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment and segment != ".":
            segments.append(segment)
    path = "/" + "/".join(segments)
    if segments and raw_path.endswith("/"):
        path += "/"
    return quote(path, safe="/~")


def _canonical_header_value(values: list[str]) -> str:
    # Trim and collapse whitespace runs in each value; repeated headers joined with ','.
    if len(values) == 1:
        value = values[0]
        if " " not in value and "\t" not in value and value.isprintable():
            return value
        return " ".join(value.split())
    return ",".join(" ".join(v.split()) for v in values)


def _first(hmap: dict[str, list[str]], name: str) -> str | None:
    values = hmap.get(name)
    return values[0] if values else None


def _header_index(headers: Mapping[str, str]) -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    for name, value in headers.items():  # multidicts yield every repeated header here
        index.setdefault(name.lower(), []).append(value)
    return index


def _string_to_sign(amz_date: str, scope: CredentialScope, canonical_request: str) -> str:
    digest = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope.string}\n{digest}"


def _parse_amz_date(value: str) -> float | None:
    if (len(value) != 16 or value[8] != "T" or value[15] != "Z" or not value.isascii()
            or not value[:8].isdigit() or not value[9:15].isdigit()):
        return None
    try:
        return datetime(int(value[0:4]), int(value[4:6]), int(value[6:8]), int(value[9:11]),
                        int(value[11:13]), int(value[13:15]), tzinfo=timezone.utc).timestamp()
    except ValueError:
        return None


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _amz(epoch: float) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(epoch))


def _hex_bytes(text: str) -> str:
    return text.encode("utf-8").hex(" ")


# ------------------------------------------------------------------------------------ the verifier
@dataclass(slots=True)
class _Parsed:
    """The signature parameters of one request, from the Authorization header or the query."""

    scope: CredentialScope
    signed_headers: list[str]
    signature: str
    presigned: bool


class SigV4Verifier:
    """Verifies SigV4 requests against a live mapping of access key id → secret access key."""

    __slots__ = ("_secrets", "_clock", "_keys", "_dates")

    _KEY_CACHE_SIZE: Final = 512

    def __init__(self, secrets: Mapping[str, str], clock: Clock) -> None:
        self._secrets = secrets
        self._clock = clock
        self._keys: dict[tuple[str, str, str, str], bytes] = {}
        self._dates: dict[str, float | None] = {}

    def is_known(self, access_key: str) -> bool:
        return access_key in self._secrets

    def signing_key(self, secret_key: str, date: str, region: str, service: str) -> bytes:
        """Derived key, cached per (secret, date, region, service): four HMACs saved per request."""
        cache_key = (secret_key, date, region, service)
        key = self._keys.get(cache_key)
        if key is None:
            if len(self._keys) >= self._KEY_CACHE_SIZE:
                self._keys.clear()
            key = self._keys[cache_key] = derive_signing_key(secret_key, date, region, service)
        return key

    def _parse_date(self, value: str) -> float | None:
        # Concurrent requests mostly share their X-Amz-Date second: parse each string once.
        try:
            return self._dates[value]
        except KeyError:
            if len(self._dates) >= self._KEY_CACHE_SIZE:
                self._dates.clear()
            when = self._dates[value] = _parse_amz_date(value)
            return when

    def verify(self, method: str, raw_path: str, raw_query: str, headers: Mapping[str, str],
               body_sha256: str | None = None, *, virtual_bucket: str | None = None) -> VerifiedRequest:
        """Verify a header-signed or presigned request; raise the AwsError S3 would answer.

        `body_sha256` is the hex SHA-256 of the body for services other than S3 (S3 requests carry
        x-amz-content-sha256 instead); the caller must still compare a SIGNED_PAYLOAD hash with the
        body it reads (XAmzContentSHA256Mismatch) unless it passed `body_sha256` here.
        """
        hmap = _header_index(headers)
        authorization_v2 = hmap.get("authorization", [""])[0]
        if is_sigv2(authorization_v2, raw_query if "X-Amz-Algorithm" not in raw_query else ""):
            # S3 only: SigV2 has no credential scope (boto3 and the CLI still presign with it by default)
            access_key = verify_sigv2(method, raw_path, raw_query, headers, self._secrets, self._clock.now(),
                                      virtual_bucket)
            scope = CredentialScope(access_key, "", "", "s3")
            return VerifiedRequest(access_key, scope, b"", "", "", UNSIGNED_PAYLOAD,
                                   presigned=not authorization_v2)
        pairs = _query_pairs(raw_query)
        query = {unquote(k): v for k, v in pairs} if "X-Amz-" in raw_query else {}
        authorization = hmap.get("authorization")
        if "X-Amz-Algorithm" in query:
            if authorization:
                raise InvalidArgument(
                    "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature "
                    "query string parameter or the Authorization header should be specified",
                    ArgumentName="Authorization", ArgumentValue=authorization[0])
            parsed = self._parse_query_auth(query)
        elif authorization:
            parsed = self._parse_authorization(authorization[0])
        else:
            raise MissingAuthenticationToken()

        scope = parsed.scope
        is_s3 = scope.service in _S3_SERVICES
        secret = self._secrets.get(scope.access_key)
        if secret is None:
            raise InvalidAccessKeyId(AWSAccessKeyId=scope.access_key)

        now = self._clock.now()
        if parsed.presigned:
            amz_date = self._check_presigned_time(query, scope, now)
        else:
            amz_date = self._check_header_time(hmap, scope, now, is_s3)

        if "host" not in parsed.signed_headers:
            self._malformed(parsed.presigned, is_s3, "the SignedHeaders must include host")
        if is_s3:
            unsigned = sorted(name for name in hmap
                              if name.startswith("x-amz-") and name not in parsed.signed_headers)
            if unsigned:
                raise AccessDenied("There were headers present in the request which were not signed",
                                   HeadersNotSigned=", ".join(unsigned))

        payload_hash = self._payload_hash(hmap, parsed, is_s3, body_sha256)
        canonical_headers = "".join(
            f"{name}:{_canonical_header_value(hmap.get(name, []))}\n" for name in parsed.signed_headers)
        signed_header_list = ";".join(parsed.signed_headers)
        if parsed.presigned:
            pairs = [(k, v) for k, v in pairs if unquote(k) != "X-Amz-Signature"]
        signing_key = self.signing_key(secret, scope.date, scope.region, scope.service)

        def attempt(path: str, query_mode: str) -> tuple[bool, str, str]:
            canonical = "\n".join((method.upper(), path, _canonical_query(pairs, query_mode),
                                   canonical_headers, signed_header_list, payload_hash))
            sts = _string_to_sign(amz_date, scope, canonical)
            return hmac.compare_digest(_sign(signing_key, sts), parsed.signature), canonical, sts

        path = _canonical_path(raw_path, scope.service)
        ok, canonical, sts = attempt(path, "aws")
        if not ok:
            # Clients that sign what they send without AWS's re-encoding ('+' for a plus sign, a
            # lower-case escape, a raw '!' in an S3 key) are accepted as S3 tolerates them.
            paths = [path] + ([raw_path] if is_s3 and raw_path and raw_path != path else [])
            modes = ["aws"] + (["plus"] if "+" in raw_query else []) + ["raw"]
            ok = any(attempt(p, m)[0] for p in paths for m in modes if (p, m) != (path, "aws"))
        if not ok:
            if is_s3:
                raise SignatureDoesNotMatch(
                    AWSAccessKeyId=scope.access_key, StringToSign=sts, SignatureProvided=parsed.signature,
                    StringToSignBytes=_hex_bytes(sts), CanonicalRequest=canonical,
                    CanonicalRequestBytes=_hex_bytes(canonical))
            raise SignatureDoesNotMatch(
                f"{_OTHER_SERVICES_MISMATCH}\n\nThe Canonical String for this request should have been\n"
                f"'{canonical}'\n\nThe String-to-Sign should have been\n'{sts}'\n")

        if payload_hash in _S3_CONTENT_SHA256_SPECIAL:
            mode = payload_hash
        else:
            mode = SIGNED_PAYLOAD
            if is_s3 and body_sha256 is not None and body_sha256.lower() != payload_hash.lower():
                raise XAmzContentSHA256Mismatch(ClientComputedContentSHA256=payload_hash,
                                                S3ComputedContentSHA256=body_sha256)
        if parsed.presigned:
            token_raw = query.get("X-Amz-Security-Token")
            token = unquote(token_raw) if token_raw is not None else None
        else:
            token = _first(hmap, "x-amz-security-token")
        return VerifiedRequest(scope.access_key, scope, signing_key, parsed.signature, amz_date, mode,
                               payload_hash, parsed.presigned, token)

    # -- parsing
    @staticmethod
    def _malformed(presigned: bool, is_s3: bool, detail: str) -> None:
        if presigned:
            raise AuthorizationQueryParametersError(detail[0].upper() + detail[1:] + ".")
        if is_s3:
            raise AuthorizationHeaderMalformed(f"The authorization header is malformed; {detail}.")
        raise IncompleteSignature(f"Authorization header is malformed; {detail}.")

    def _parse_authorization(self, value: str) -> _Parsed:
        algorithm, _, rest = value.strip().partition(" ")
        if algorithm != ALGORITHM:
            raise InvalidArgument("Unsupported Authorization Type", ArgumentName="Authorization",
                                  ArgumentValue=value)
        params: dict[str, str] = {}
        for item in rest.split(","):
            key, sep, val = item.strip().partition("=")
            if sep:
                params[key.strip()] = val.strip()
        credential = params.get("Credential")
        scope = _strict_scope(credential) if credential else None
        # Errors take S3's shape unless the credential names another service (S3 is the default route).
        claimed = credential.split("/")[3:4] if credential else []
        is_s3 = not claimed or not claimed[0] or claimed[0] in _S3_SERVICES
        missing = [k for k in ("Credential", "SignedHeaders", "Signature") if not params.get(k)]
        if missing:
            if is_s3:
                raise AuthorizationHeaderMalformed(
                    "The authorization header is malformed; the authorization header requires three "
                    "components: Credential, SignedHeaders, and Signature.")
            raise IncompleteSignature(" ".join(f"Authorization header requires '{k}' parameter." for k in missing)
                                      + f" Authorization={value}")
        assert credential is not None
        if scope is None:
            self._malformed(False, is_s3, "the Credential is mal-formed; " + _CREDENTIAL_HELP[:-1])
        assert scope is not None
        return _Parsed(scope, params["SignedHeaders"].lower().split(";"), params["Signature"], False)

    def _parse_query_auth(self, query: dict[str, str]) -> _Parsed:
        if any(not query.get(k) for k in _PRESIGN_REQUIRED):
            raise AuthorizationQueryParametersError(
                "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
                "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
        if unquote(query["X-Amz-Algorithm"]) != ALGORITHM:
            raise AuthorizationQueryParametersError('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"')
        credential = unquote(query["X-Amz-Credential"])
        scope = _strict_scope(credential)
        if scope is None:
            raise AuthorizationQueryParametersError(
                "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; " + _CREDENTIAL_HELP)
        signed_headers = unquote(query["X-Amz-SignedHeaders"]).lower().split(";")
        return _Parsed(scope, signed_headers, unquote(query["X-Amz-Signature"]), True)

    # -- time
    def _check_header_time(self, hmap: dict[str, list[str]], scope: CredentialScope, now: float,
                           is_s3: bool) -> str:
        raw = (hmap.get("x-amz-date") or [""])[0].strip()
        when = self._parse_date(raw) if raw else None
        amz_date = raw
        if when is None and not raw and "date" in hmap:
            # SigV4 also accepts the HTTP Date header; the string to sign then carries it in ISO form.
            try:
                when = parsedate_to_datetime(hmap["date"][0]).timestamp()
                amz_date = _amz(when)
            except (TypeError, ValueError, IndexError):
                when = None
        if when is None:
            if is_s3:
                raise AccessDenied("AWS authentication requires a valid Date or x-amz-date header")
            raise IncompleteSignature("Authorization header requires existence of either a 'X-Amz-Date' or "
                                      "a 'Date' header.")
        if amz_date[:8] != scope.date:
            self._malformed(False, is_s3, "Invalid credential date. Date is not the same as X-Amz-Date")
        if abs(now - when) > MAX_SKEW_SECONDS:
            raise RequestTimeTooSkewed(RequestTime=raw or hmap["date"][0], ServerTime=_iso(now),
                                       MaxAllowedSkewMilliseconds=str(MAX_SKEW_SECONDS * 1000))
        return amz_date

    def _check_presigned_time(self, query: dict[str, str], scope: CredentialScope, now: float) -> str:
        amz_date = unquote(query["X-Amz-Date"])
        when = self._parse_date(amz_date)
        if when is None:
            raise AuthorizationQueryParametersError(
                "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
        if amz_date[:8] != scope.date:
            raise AuthorizationQueryParametersError(
                "Invalid credential date. Date is not the same as X-Amz-Date.")
        raw_expires = unquote(query["X-Amz-Expires"])
        if not _INTEGER.fullmatch(raw_expires):
            raise AuthorizationQueryParametersError("X-Amz-Expires should be a number")
        expires = int(raw_expires)
        if expires < 0:
            raise AuthorizationQueryParametersError("X-Amz-Expires must be non-negative")
        if expires > MAX_PRESIGN_EXPIRES:
            raise AuthorizationQueryParametersError(
                "X-Amz-Expires must be less than a week (in seconds) that is; 604800 seconds")
        if now > when + expires:
            expired = AccessDenied("Request has expired")
            expired.fields.update({"X-Amz-Expires": str(expires), "Expires": _iso(when + expires),
                                   "ServerTime": _iso(now)})
            raise expired
        if when - now > MAX_SKEW_SECONDS:
            raise AccessDenied("Request is not valid yet")
        return amz_date

    # -- payload
    @staticmethod
    def _payload_hash(hmap: dict[str, list[str]], parsed: _Parsed, is_s3: bool,
                      body_sha256: str | None) -> str:
        declared = _first(hmap, "x-amz-content-sha256")
        if parsed.presigned:
            # A presigned URL cannot know its payload: UNSIGNED-PAYLOAD unless the signer put an
            # x-amz-content-sha256 header among the signed headers.
            if declared is not None and "x-amz-content-sha256" in parsed.signed_headers:
                return declared.strip()
            if is_s3:
                return UNSIGNED_PAYLOAD
            return body_sha256 if body_sha256 is not None else EMPTY_SHA256
        if declared is not None:
            declared = declared.strip()
            if is_s3 and declared not in _S3_CONTENT_SHA256_SPECIAL and not _HEX64.fullmatch(declared):
                raise InvalidArgument(
                    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
                    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "
                    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER "
                    "or a valid sha256 value.",
                    ArgumentName="x-amz-content-sha256", ArgumentValue=declared)
            return declared
        if is_s3:
            raise InvalidRequest("Missing required header for this request: x-amz-content-sha256")
        if body_sha256 is None:
            raise ValueError("body_sha256 is required to verify a non-S3 request without x-amz-content-sha256")
        return body_sha256


# ---------------------------------------------------------------------------- aws-chunked signing
class ChunkSignatureChain:
    """The chained signatures of an aws-chunked body (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]):
    each chunk's signature covers its data and the previous signature, starting from the seed
    (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html)."""

    __slots__ = ("_key", "_payload_prefix", "_trailer_prefix", "_previous", "_access_key")

    def __init__(self, verified: VerifiedRequest) -> None:
        self._key = verified.signing_key
        self._payload_prefix = f"AWS4-HMAC-SHA256-PAYLOAD\n{verified.amz_date}\n{verified.scope.string}\n"
        self._trailer_prefix = f"AWS4-HMAC-SHA256-TRAILER\n{verified.amz_date}\n{verified.scope.string}\n"
        self._previous = verified.seed_signature
        self._access_key = verified.access_key

    @property
    def previous_signature(self) -> str:
        return self._previous

    def _chunk_string_to_sign(self, chunk_sha256: str) -> str:
        return f"{self._payload_prefix}{self._previous}\n{EMPTY_SHA256}\n{chunk_sha256}"

    def _check(self, string_to_sign: str, signature: str) -> None:
        expected = _sign(self._key, string_to_sign)
        if not hmac.compare_digest(expected, signature):
            raise SignatureDoesNotMatch(AWSAccessKeyId=self._access_key, StringToSign=string_to_sign,
                                        SignatureProvided=signature,
                                        StringToSignBytes=_hex_bytes(string_to_sign))
        self._previous = expected

    def verify_chunk_digest(self, chunk_sha256: str, signature: str) -> None:
        """Verify a chunk from the hex SHA-256 of its data (for decoders that hash as data arrives)."""
        self._check(self._chunk_string_to_sign(chunk_sha256), signature)

    def verify_chunk(self, chunk_data: bytes | bytearray | memoryview, signature: str) -> None:
        self.verify_chunk_digest(hashlib.sha256(chunk_data).hexdigest(), signature)

    def sign_chunk(self, chunk_data: bytes | bytearray | memoryview) -> str:
        """The signature the next chunk must carry (advances the chain): for clients and tests."""
        self._previous = _sign(self._key, self._chunk_string_to_sign(hashlib.sha256(chunk_data).hexdigest()))
        return self._previous

    @staticmethod
    def canonical_trailers(trailer_lines: bytes) -> bytes:
        # Each trailing header as 'lower-case-name:trimmed-value\n', in the order sent.
        out = []
        for line in trailer_lines.split(b"\n"):
            line = line.rstrip(b"\r")
            if line:
                name, _, value = line.partition(b":")
                out.append(name.strip().lower() + b":" + value.strip() + b"\n")
        return b"".join(out)

    def _trailer_string_to_sign(self, trailer_lines: bytes) -> str:
        digest = hashlib.sha256(self.canonical_trailers(trailer_lines)).hexdigest()
        return f"{self._trailer_prefix}{self._previous}\n{digest}"

    def verify_trailer(self, trailer_lines: bytes, signature: str) -> None:
        """Verify x-amz-trailer-signature over the trailing headers (without the signature line)."""
        self._check(self._trailer_string_to_sign(trailer_lines), signature)

    def sign_trailer(self, trailer_lines: bytes) -> str:
        self._previous = _sign(self._key, self._trailer_string_to_sign(trailer_lines))
        return self._previous


# ----------------------------------------------------------------------------- presigned URLs
def presign_url(method: str, url: str, *, access_key: str, secret_key: str, region: str, service: str,
                now: float, expires: int = 3600, session_token: str | None = None,
                headers: Mapping[str, str] | None = None, signing_key: bytes | None = None) -> str:
    """A SigV4 presigned URL for `url` (path and query already percent-encoded), signed exactly as
    SigV4Verifier checks it: the host (from the URL) and `headers` are signed, the payload is
    UNSIGNED-PAYLOAD for S3 and the empty-body hash elsewhere."""
    if not 0 <= expires <= MAX_PRESIGN_EXPIRES:
        raise ValueError("expires must be between 0 and 604800 seconds")
    parts = urlsplit(url)
    amz_date = _amz(now)
    scope = CredentialScope(access_key, amz_date[:8], region, service)
    signed: dict[str, list[str]] = {"host": [parts.netloc]}
    for name, value in (headers or {}).items():
        signed.setdefault(name.lower(), []).append(value)
    names = sorted(signed)
    auth_params = [
        ("X-Amz-Algorithm", ALGORITHM),
        ("X-Amz-Credential", f"{access_key}/{scope.string}"),
        ("X-Amz-Date", amz_date),
        ("X-Amz-Expires", str(expires)),
        ("X-Amz-SignedHeaders", ";".join(names)),
    ]
    if session_token is not None:
        auth_params.append(("X-Amz-Security-Token", session_token))
    encoded_auth = [(k, quote(v, safe="-_.~")) for k, v in auth_params]
    pairs = _query_pairs(parts.query) + encoded_auth
    payload = UNSIGNED_PAYLOAD if service in _S3_SERVICES else EMPTY_SHA256
    canonical = "\n".join((
        method.upper(), _canonical_path(parts.path, service), _canonical_query(pairs, "aws"),
        "".join(f"{n}:{_canonical_header_value(signed[n])}\n" for n in names), ";".join(names), payload))
    key = signing_key or derive_signing_key(secret_key, scope.date, region, service)
    signature = _sign(key, _string_to_sign(amz_date, scope, canonical))
    query = "&".join(f"{k}={v}" for k, v in [*_query_pairs(parts.query), *encoded_auth,
                                             ("X-Amz-Signature", signature)])
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", query, ""))
