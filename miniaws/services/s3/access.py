"""Who may do what to a bucket or object: the one evaluation S3 applies to every request when auth is enforced.

Order, as S3 evaluates a request against resource-based permissions
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/how-s3-evaluates-access-control.html):
an explicit Deny in the bucket policy wins; the bucket owner may do anything else; then an Allow in the bucket
policy (public statements ignored for other accounts under RestrictPublicBuckets); then the ACLs, unless
ObjectOwnership has disabled them (public grants ignored under IgnorePublicAcls). Nothing else is allowed.
Each access key is its own principal: `arn:aws:iam::<account>:user/<access key>`, as STS reports it.
"""
from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from miniaws.core.context import RequestContext
from miniaws.services.s3 import acl
from miniaws.services.s3.actions import OBJECT_ACTIONS, action_for
from miniaws.services.s3.models import Bucket, S3Object
from miniaws.services.s3.policy import Caller, Effect, Policy, current_time_values, parse_policy


class Decision(enum.Enum):
    ALLOW = "allow"
    DENY = "deny"  # an explicit Deny in the bucket policy
    IMPLICIT_DENY = "implicit"  # nothing allowed it


#: action -> (which ACL, permission) for the actions ACLs can grant
#: (https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#permissions)
_ACL_PERMISSIONS: dict[str, tuple[str, str]] = {
    "s3:ListBucket": ("bucket", "READ"), "s3:ListBucketVersions": ("bucket", "READ"),
    "s3:ListBucketMultipartUploads": ("bucket", "READ"),
    "s3:PutObject": ("bucket", "WRITE"), "s3:DeleteObject": ("bucket", "WRITE"),
    "s3:DeleteObjectVersion": ("bucket", "WRITE"),
    "s3:GetBucketAcl": ("bucket", "READ_ACP"), "s3:PutBucketAcl": ("bucket", "WRITE_ACP"),
    "s3:GetObject": ("object", "READ"), "s3:GetObjectVersion": ("object", "READ"),
    "s3:GetObjectAcl": ("object", "READ_ACP"), "s3:GetObjectVersionAcl": ("object", "READ_ACP"),
    "s3:PutObjectAcl": ("object", "WRITE_ACP"), "s3:PutObjectVersionAcl": ("object", "WRITE_ACP"),
}


#: what only an object's owner (or its ACL) allows when the object is not the bucket owner's
_OBJECT_OWNER_ACTIONS = frozenset({"s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectAcl", "s3:GetObjectVersionAcl",
                                   "s3:PutObjectAcl", "s3:PutObjectVersionAcl"})
#: the bucket owner can always manage the policy, even one that denies it everything else
#: (https://docs.aws.amazon.com/AmazonS3/latest/userguide/example-bucket-policies.html, "lock yourself out")
_OWNER_ALWAYS = frozenset({"s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"})


def bucket_policy(bucket: Bucket) -> Policy | None:
    """The bucket's policy, compiled once (it was validated when it was stored)."""
    if bucket.policy is None:
        return None
    if bucket.parsed_policy is None:
        bucket.parsed_policy = parse_policy(bucket.policy, bucket.name)
    policy: Policy = bucket.parsed_policy
    return policy


def authorize_request(ctx: RequestContext, bucket: Bucket, key: str | None, obj: S3Object | None,
                      params: dict[str, Any], action: str | None) -> Decision:
    principal = ctx.principal
    principal_id = None if principal.anonymous else principal.canonical_id
    is_owner = principal_id == bucket.owner.id
    policy = bucket_policy(bucket)
    object_owner = obj.owner_id if obj is not None and bucket.ownership != "BucketOwnerEnforced" else ""
    foreign = object_owner not in ("", bucket.owner.id)
    if is_owner and policy is None and not foreign:
        return Decision.ALLOW  # the common case, decided without building anything
    action = action or action_for(ctx.operation, params)
    if foreign and action in _OBJECT_OWNER_ACTIONS:
        # with ACLs enabled, another writer's object is theirs: reading it or its ACL takes their grant, even for the
        # bucket owner (https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html)
        is_owner = principal_id == object_owner
    if is_owner and action in _OWNER_ALWAYS:
        return Decision.ALLOW
    if key is None:
        key = params.get("Key")
    block = bucket.public_access_block or {}
    if policy is not None:
        resource = f"arn:aws:s3:::{bucket.name}" + (f"/{key}" if key is not None and action_is_object(action) else "")
        caller = Caller(anonymous=principal.anonymous, canonical_id=principal.canonical_id,
                        account_id=principal.account_id,
                        arn=f"arn:aws:iam::{principal.account_id}:user/{principal.access_key}",
                        action=action, resource=resource, context=_context(ctx, params, obj))
        # RestrictPublicBuckets: a public policy grants nothing to anonymous callers or other accounts
        restricted = bool(block.get("RestrictPublicBuckets")) and policy.public and (
            principal.anonymous or principal.account_id != bucket.account_id)
        effect = policy.evaluate(caller, skip_public=restricted)
        if effect is Effect.DENY:
            return Decision.DENY
        if is_owner or effect is Effect.ALLOW:
            return Decision.ALLOW
    if bucket.ownership != "BucketOwnerEnforced" and _acl_allows(bucket, obj, action, principal_id,
                                                                 bool(block.get("IgnorePublicAcls"))):
        return Decision.ALLOW
    return Decision.IMPLICIT_DENY


def action_is_object(action: str) -> bool:
    return action.partition(":")[2] in OBJECT_ACTIONS


def _acl_allows(bucket: Bucket, obj: S3Object | None, action: str, principal_id: str | None,
                ignore_public: bool) -> bool:
    target = _ACL_PERMISSIONS.get(action)
    if target is None:
        return False
    which, permission = target
    if which == "bucket":
        return acl.permits(bucket.acl, bucket.owner.id, principal_id, permission, ignore_public)
    if obj is None or obj.delete_marker:
        return False
    return acl.permits(obj.acl, obj.owner_id or bucket.owner.id, principal_id, permission, ignore_public)


def _context(ctx: RequestContext, params: dict[str, Any], obj: S3Object | None) -> Callable[[str], list[str] | None]:
    """Condition keys for this request, computed when a condition asks for one
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/amazon-s3-policy-keys.html)."""
    request = ctx.request
    principal = ctx.principal

    def value(key: str) -> list[str] | None:
        if key == "aws:sourceip":
            return [request.remote] if request is not None and request.remote else None
        if key == "aws:securetransport":
            return ["true" if request is not None and request.secure else "false"]
        if key in ("aws:currenttime", "aws:epochtime"):
            return current_time_values(ctx.clock.now())[key]
        if principal.anonymous and key.startswith("aws:principal"):
            return None
        if key == "aws:principalaccount":
            return [principal.account_id]
        if key == "aws:principalarn":
            return [f"arn:aws:iam::{principal.account_id}:user/{principal.access_key}"]
        if key == "aws:username":
            return [principal.access_key] if principal.access_key else None
        if key == "aws:principaltype":
            return ["Anonymous" if principal.anonymous else "User"]
        if key in _HEADER_KEYS:
            header = request.headers.get(_HEADER_KEYS[key]) if request is not None else None
            return [header] if header is not None else None
        if key.startswith("s3:existingobjecttag/"):
            tags = obj.tags if obj is not None and obj.tags else {}
            wanted = key.split("/", 1)[1]
            found = [v for k, v in tags.items() if k.lower() == wanted]
            return found or None
        if key == "s3:requestobjecttagkeys" or key.startswith("s3:requestobjecttag/"):
            requested = _request_tags(params)
            if requested is None:
                return None
            if key == "s3:requestobjecttagkeys":
                return list(requested)
            wanted = key.split("/", 1)[1]
            return [v for k, v in requested.items() if k.lower() == wanted] or None
        if key in _PARAM_KEYS:
            raw = params.get(_PARAM_KEYS[key])
            return [str(raw)] if raw is not None else None
        if key.startswith("s3:x-amz-") and request is not None:
            header = request.headers.get(key[3:])
            return [header] if header is not None else None
        if key == "s3:authtype":
            return [_auth_type(ctx)]
        return None

    return value


_HEADER_KEYS = {"aws:useragent": "User-Agent", "aws:referer": "Referer"}
#: condition keys read from request parameters
_PARAM_KEYS = {"s3:prefix": "Prefix", "s3:delimiter": "Delimiter", "s3:max-keys": "MaxKeys",
               "s3:versionid": "VersionId"}


def _request_tags(params: dict[str, Any]) -> dict[str, str] | None:
    """The tags a request sets: x-amz-tagging (PutObject, CopyObject, uploads) or a Tagging body (PutObjectTagging)."""
    tagging = params.get("Tagging")
    if isinstance(tagging, str):
        return dict(parse_qsl(tagging, keep_blank_values=True))
    if isinstance(tagging, dict):
        return {str(t.get("Key", "")): str(t.get("Value", "")) for t in tagging.get("TagSet") or ()}
    return None


def _auth_type(ctx: RequestContext) -> str:
    if ctx.principal.anonymous or ctx.request is None:
        return "REST-HEADER"
    query = ctx.request.query
    return "REST-QUERY-STRING" if "X-Amz-Signature" in query or "Signature" in query else "REST-HEADER"
