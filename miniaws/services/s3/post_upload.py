"""Browser-based uploads: POST /bucket with multipart/form-data fields, a base64 policy document and its signature.

https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html and
https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html: the policy is signed (SigV4: HMAC-SHA256 with
the signing key, hex; SigV2: HMAC-SHA1 with the secret, base64); it expires; every form field must be allowed by a
condition (`eq`, `starts-with`, exact match) and `content-length-range` bounds the file. The file field comes last;
only the fields before it count. The answer is a 303 redirect, or 200 / 201 (with a PostResponse body) / 204.
"""
from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import orjson
from aiohttp import BodyPartReader, web

from miniaws.core.auth import derive_signing_key
from miniaws.core.context import Principal, RequestContext
from miniaws.core.errors import InvalidAccessKeyId, SignatureDoesNotMatch
from miniaws.protocols import rest_xml
from miniaws.protocols.shapes import BadValue, parse_timestamp
from miniaws.protocols.xml import XML_DECLARATION, element
from miniaws.services.base import operation
from miniaws.services.s3 import body as bodies
from miniaws.services.s3.api_common import S3Base
from miniaws.services.s3.api_objects import check_metadata, content_settings
from miniaws.services.s3.errors import (AccessDenied, EntityTooLarge, EntityTooSmall, InvalidArgument, InvalidRequest,
                                        MalformedXML)
from miniaws.services.s3.models import S3Object
from miniaws.services.s3.sse_requests import write_protection
from miniaws.services.s3.tagging import MAX_OBJECT_TAGS, body_tags
from miniaws.services.s3.validation import check_key
from miniaws.services.s3.versions import next_version_id

#: form fields that the policy need not mention (the signature itself, the policy, the file)
_UNCHECKED = frozenset({"policy", "x-amz-signature", "signature", "awsaccesskeyid", "file", "x-amz-security-token"})
#: form fields -> PutObject members
_MEMBERS = {"acl": "ACL", "content-type": "ContentType", "cache-control": "CacheControl",
            "content-disposition": "ContentDisposition", "content-encoding": "ContentEncoding",
            "content-language": "ContentLanguage", "expires": "Expires", "x-amz-storage-class": "StorageClass",
            "x-amz-website-redirect-location": "WebsiteRedirectLocation",
            "x-amz-object-lock-mode": "ObjectLockMode", "x-amz-object-lock-legal-hold": "ObjectLockLegalHoldStatus",
            "x-amz-server-side-encryption": "ServerSideEncryption",
            "x-amz-server-side-encryption-aws-kms-key-id": "SSEKMSKeyId",
            "x-amz-server-side-encryption-context": "SSEKMSEncryptionContext",
            "x-amz-server-side-encryption-bucket-key-enabled": "BucketKeyEnabled",
            "x-amz-server-side-encryption-customer-algorithm": "SSECustomerAlgorithm",
            "x-amz-server-side-encryption-customer-key": "SSECustomerKey",
            "x-amz-server-side-encryption-customer-key-md5": "SSECustomerKeyMD5"}


def _policy_failed(detail: str) -> AccessDenied:
    return AccessDenied(f"Invalid according to Policy: {detail}")


class PostUploadOperations(S3Base):
    @operation("PostObject")
    async def post_object(self, ctx: RequestContext, params: dict[str, Any]) -> web.Response:
        """POST /bucket (multipart/form-data): a browser upload. Routed by S3Service.route_unmodelled."""
        assert ctx.request is not None
        bucket_name = params["Bucket"]
        bucket = self.find_bucket(bucket_name)
        reader = await ctx.request.multipart()
        fields: dict[str, str] = {}
        names: dict[str, str] = {}  # lower-case -> as sent (x-amz-meta-* keep their case)
        file_part: BodyPartReader | None = None
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader) or not part.name:
                continue
            name = part.name.lower()
            if name == "file":
                file_part = part
                break  # fields after the file are ignored, as S3 does
            fields[name] = await part.text()
            names[name] = part.name
        if "key" not in fields:
            raise InvalidArgument("Bucket POST must contain a field named 'key'.  If it is specified, please check "
                                  "the order of the fields.", ArgumentName="key", ArgumentValue="")
        if file_part is None:
            raise InvalidArgument("POST requires exactly one file upload per request.", ArgumentName="file",
                                  ArgumentValue="0")
        filename = file_part.filename or ""
        key = fields["key"].replace("${filename}", filename)
        check_key(key)
        principal = self._verify_signature(ctx, fields)
        ctx = dataclasses.replace(ctx, principal=principal)
        length_range = self._check_policy(ctx, fields, bucket.name, key)
        params = self._params(fields, names, file_part)
        params.update(Bucket=bucket.name, Key=key)
        self.authorize(ctx, bucket, key=key, params=params, action="s3:PutObject")
        check_metadata(params.get("Metadata") or {})
        stamp = self.new_object_settings(ctx, bucket, params)
        if "tagging" in fields:
            stamp.tags = _form_tags(fields["tagging"]) or None
        protection = write_protection(self.keyring, ctx.account_id, bucket, key, params)
        ingested = await bodies.ingest_chunks(_chunks(file_part), self.blobs, seal=protection.key)
        segments = self.store.adopt(ingested.blob_id, ingested.size, ingested.wrapped, protection.envelope)
        try:
            if length_range is not None:
                low, high = length_range
                if ingested.size < low:
                    raise EntityTooSmall(ProposedSize=str(ingested.size), MinSizeAllowed=str(low))
                if ingested.size > high:
                    raise EntityTooLarge(ProposedSize=str(ingested.size), MaxSizeAllowed=str(high))
            bucket = self.find_bucket(bucket_name)  # it may have gone while the file streamed in
        except BaseException:
            self.store.release(segments)
            raise
        obj = S3Object(key=key, size=ingested.size, etag=protection.etag(ingested.md5), last_modified=ctx.clock.now(),
                       segments=segments, content_type=params.get("ContentType") or "binary/octet-stream",
                       metadata=params.get("Metadata") or {}, content=content_settings(ctx, params),
                       storage_class=params.get("StorageClass") or "STANDARD", version_id=next_version_id(bucket),
                       envelope=protection.envelope)
        stamp.encryption = protection.stored
        stamp.apply(obj)
        self.store.put_object(bucket, obj)
        self.notify(ctx, bucket, "ObjectCreated:Post", key, obj)
        return self._answer(ctx, fields, bucket.name, obj, bucket.versioning is not None)

    # -- signature and policy -------------------------------------------------------------------
    def _verify_signature(self, ctx: RequestContext, fields: dict[str, str]) -> Principal:
        """The uploader: whoever signed the policy (verified when the key is known or auth is enforced)."""
        sigv4 = "x-amz-signature" in fields
        access_key = (fields.get("x-amz-credential", "").split("/", 1)[0] if sigv4
                      else fields.get("awsaccesskeyid", ""))
        if not access_key:
            return Principal(None, self.config.account_id)  # an anonymous upload: the bucket must allow it
        if "policy" not in fields:
            raise InvalidArgument("Bucket POST must contain a field named 'policy'.  If it is specified, please "
                                  "check the order of the fields.", ArgumentName="policy", ArgumentValue="")
        secrets = {c.access_key: c.secret_key for c in self.config.credentials}
        secret = secrets.get(access_key)
        if secret is None:
            if self.enforce:
                raise InvalidAccessKeyId(AWSAccessKeyId=access_key)
        elif sigv4:
            scope = fields.get("x-amz-credential", "").split("/")
            if len(scope) != 5 or fields.get("x-amz-algorithm") != "AWS4-HMAC-SHA256":
                raise InvalidArgument("Invalid credential or algorithm", ArgumentName="x-amz-credential",
                                      ArgumentValue=fields.get("x-amz-credential", ""))
            signing_key = derive_signing_key(secret, scope[1], scope[2], scope[3])
            expected = hmac.new(signing_key, fields["policy"].encode(), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected, fields["x-amz-signature"].lower()):
                raise SignatureDoesNotMatch()
        else:
            digest = hmac.new(secret.encode(), fields["policy"].encode(), hashlib.sha1).digest()
            if not hmac.compare_digest(base64.b64encode(digest).decode(), fields.get("signature", "")):
                raise SignatureDoesNotMatch()
        account = access_key if len(access_key) == 12 and access_key.isdigit() else self.config.account_id
        return Principal(access_key, account)

    def _check_policy(self, ctx: RequestContext, fields: dict[str, str], bucket: str,
                      key: str) -> tuple[int, int] | None:
        """Enforce the policy document; the content-length-range it sets, if any."""
        if "policy" not in fields:
            return None
        try:
            document = orjson.loads(base64.b64decode(fields["policy"], validate=True))
        except (binascii.Error, ValueError, orjson.JSONDecodeError):
            raise InvalidRequest("Invalid Policy: Invalid JSON.") from None
        if not isinstance(document, dict) or not isinstance(document.get("conditions"), list):
            raise InvalidRequest("Invalid Policy: Invalid 'conditions' field.")
        try:
            expiration = parse_timestamp(str(document.get("expiration", "")))
        except BadValue:
            raise InvalidRequest("Invalid Policy: Invalid 'expiration' value.") from None
        if expiration < ctx.clock.now():
            raise _policy_failed("Policy expired.")
        values = dict(fields, key=key, bucket=bucket)
        covered: set[str] = set()
        length_range: tuple[int, int] | None = None
        for condition in document["conditions"]:
            if isinstance(condition, dict):
                for name, expected in condition.items():
                    name = str(name).lower()
                    covered.add(name)
                    if values.get(name) != str(expected):
                        raise _policy_failed(f'Policy Condition failed: ["eq", "${name}", "{expected}"]')
                continue
            if not isinstance(condition, list) or len(condition) != 3:
                raise InvalidRequest("Invalid Policy: Invalid Simple-Condition.")
            operator = str(condition[0]).lower()
            if operator == "content-length-range":
                try:
                    length_range = (int(condition[1]), int(condition[2]))
                except (TypeError, ValueError):
                    raise InvalidRequest("Invalid Policy: Invalid content-length-range.") from None
                continue
            name = str(condition[1]).lstrip("$").lower()
            covered.add(name)
            actual, expected = values.get(name, ""), str(condition[2])
            ok = actual == expected if operator == "eq" else (
                actual.startswith(expected) if operator == "starts-with" else None)
            if ok is None:
                raise InvalidRequest(f"Invalid Policy: Invalid condition operator '{condition[0]}'.")
            if not ok:
                raise _policy_failed(f'Policy Condition failed: ["{condition[0]}", "{condition[1]}", '
                                     f'"{condition[2]}"]')
        extra = [n for n in fields if n not in covered and n not in _UNCHECKED and not n.startswith("x-ignore-")]
        if extra:
            raise _policy_failed("Extra input fields: " + ", ".join(extra))
        return length_range

    @staticmethod
    def _params(fields: dict[str, str], names: dict[str, str], file_part: BodyPartReader) -> dict[str, Any]:
        """The upload's fields as the PutObject members they stand for."""
        params: dict[str, Any] = {member: fields[name] for name, member in _MEMBERS.items() if name in fields}
        if "ContentType" not in params and file_part.headers.get("Content-Type"):
            params["ContentType"] = file_part.headers["Content-Type"]
        metadata = {name[len("x-amz-meta-"):]: value for name, value in fields.items()
                    if name.startswith("x-amz-meta-")}
        if metadata:
            params["Metadata"] = metadata
        if "x-amz-object-lock-retain-until-date" in fields:
            try:
                params["ObjectLockRetainUntilDate"] = parse_timestamp(fields["x-amz-object-lock-retain-until-date"])
            except BadValue:
                raise InvalidArgument("The retain until date must be a valid date",
                                      ArgumentName="x-amz-object-lock-retain-until-date") from None
        return params

    @staticmethod
    def _answer(ctx: RequestContext, fields: dict[str, str], bucket: str, obj: S3Object,
                versioned: bool) -> web.Response:
        assert ctx.request is not None
        host = ctx.request.headers.get("Host", "localhost")
        location = f"http://{host}/{bucket}/{quote(obj.key, safe='/')}"
        headers = {"ETag": obj.etag, "Location": location}
        if versioned:
            headers["x-amz-version-id"] = obj.version_id
        redirect = fields.get("success_action_redirect") or fields.get("redirect")
        if redirect:
            parts = urlsplit(redirect)
            extra = urlencode({"bucket": bucket, "key": obj.key, "etag": obj.etag})
            query = f"{parts.query}&{extra}" if parts.query else extra
            headers["Location"] = urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
            return web.Response(status=303, headers=headers)
        status = fields.get("success_action_status")
        if status == "201":
            body = (f"{XML_DECLARATION}<PostResponse>{element('Location', location)}{element('Bucket', bucket)}"
                    f"{element('Key', obj.key)}{element('ETag', obj.etag)}</PostResponse>")
            return web.Response(status=201, headers={**headers, "Content-Type": "application/xml"},
                                body=body.encode())
        return web.Response(status=200 if status == "200" else 204, headers=headers)


async def _chunks(part: BodyPartReader) -> AsyncIterator[bytes]:
    while True:
        chunk = await part.read_chunk(256 * 1024)
        if not chunk:
            return
        yield chunk


def _form_tags(text: str) -> dict[str, str]:
    """The `tagging` field: a <Tagging><TagSet>… document, read with the PutObjectTagging body's shape."""
    try:
        params = rest_xml.parse_request(S3Base.spec, "PutObjectTagging", {"Bucket": "b", "Key": "k"}, {}, {},
                                        text.encode())
    except MalformedXML:
        raise MalformedXML() from None
    return body_tags(params.get("Tagging"), MAX_OBJECT_TAGS)
