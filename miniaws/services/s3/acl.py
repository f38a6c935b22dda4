"""S3 access control lists: canned ACLs, x-amz-grant-* headers and AccessControlPolicy bodies, as grant records.

A grant is stored as [kind, value, permission] with kind "id" (canonical user), "uri" (a group) or "email".
https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html
"""
from __future__ import annotations

import re
from typing import Any

from miniaws.services.s3.errors import (InvalidArgument, InvalidRequest, MalformedXML,
                                        UnresolvableGrantByEmailAddress)
from miniaws.services.s3.models import Owner

GROUPS = "http://acs.amazonaws.com/groups/"
ALL_USERS = GROUPS + "global/AllUsers"
AUTHENTICATED_USERS = GROUPS + "global/AuthenticatedUsers"
LOG_DELIVERY = GROUPS + "s3/LogDelivery"
PUBLIC_GROUPS = frozenset({ALL_USERS, AUTHENTICATED_USERS})
PERMISSIONS = ("FULL_CONTROL", "WRITE", "WRITE_ACP", "READ", "READ_ACP")

Grant = list[str]

#: the x-amz-grant-* members and the permission each grants
_GRANT_MEMBERS = (("GrantFullControl", "FULL_CONTROL"), ("GrantRead", "READ"), ("GrantReadACP", "READ_ACP"),
                  ("GrantWrite", "WRITE"), ("GrantWriteACP", "WRITE_ACP"))
_GRANTEE = re.compile(r'\s*(id|uri|emailAddress)\s*=\s*"?([^",]*)"?\s*(?:,|$)', re.IGNORECASE)
_CANONICAL_ID = re.compile(r"^[0-9a-f]{64}$")
_KINDS = {"id": "id", "uri": "uri", "emailaddress": "email"}


def owner_full_control(owner_id: str) -> list[Grant]:
    return [["id", owner_id, "FULL_CONTROL"]]


def canned_grants(name: str, owner_id: str, bucket_owner_id: str) -> list[Grant]:
    """https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#canned-acl"""
    grants = owner_full_control(owner_id)
    if name == "private" or name == "aws-exec-read":
        return grants
    if name == "public-read":
        return grants + [["uri", ALL_USERS, "READ"]]
    if name == "public-read-write":
        return grants + [["uri", ALL_USERS, "READ"], ["uri", ALL_USERS, "WRITE"]]
    if name == "authenticated-read":
        return grants + [["uri", AUTHENTICATED_USERS, "READ"]]
    if name == "bucket-owner-read":
        return grants + ([["id", bucket_owner_id, "READ"]] if bucket_owner_id != owner_id else [])
    if name == "bucket-owner-full-control":
        return grants + ([["id", bucket_owner_id, "FULL_CONTROL"]] if bucket_owner_id != owner_id else [])
    if name == "log-delivery-write":
        return grants + [["uri", LOG_DELIVERY, "WRITE"], ["uri", LOG_DELIVERY, "READ_ACP"]]
    raise InvalidArgument(None, ArgumentName="x-amz-acl", ArgumentValue=name)


def _grantee(kind: str, value: str) -> tuple[str, str]:
    if kind == "email":
        # S3 resolves an e-mail grantee to an account; miniaws knows no account by e-mail address
        raise UnresolvableGrantByEmailAddress(EmailAddress=value)
    if kind == "id" and not _CANONICAL_ID.match(value):
        raise InvalidArgument("Invalid id", ArgumentName="CanonicalUser/ID", ArgumentValue=value)
    if kind == "uri" and not value.startswith(GROUPS):
        raise InvalidArgument("Invalid group uri", ArgumentName="Group/URI", ArgumentValue=value)
    return kind, value


def header_grants(params: dict[str, Any]) -> list[Grant] | None:
    """Grants from x-amz-grant-* headers (`id="…", uri="…"`), or None when none was sent."""
    grants: list[Grant] = []
    sent = False
    for member, permission in _GRANT_MEMBERS:
        text = params.get(member)
        if text is None:
            continue
        sent = True
        for match in _GRANTEE.finditer(str(text)):
            kind, value = _grantee(_KINDS[match.group(1).lower()], match.group(2).strip())
            grants.append([kind, value, permission])
    return grants if sent else None


def requested_grants(params: dict[str, Any], owner_id: str, bucket_owner_id: str) -> list[Grant] | None:
    """The grants a write asks for (canned x-amz-acl or x-amz-grant-* headers), None when it asks for none."""
    canned = params.get("ACL")
    headers = header_grants(params)
    if canned is not None and headers is not None:
        raise InvalidRequest("Specifying both Canned ACLs and Header Grants is not allowed")
    if canned is not None:
        return canned_grants(str(canned), owner_id, bucket_owner_id)
    return headers


def policy_grants(policy: dict[str, Any]) -> list[Grant]:
    """Grants from an AccessControlPolicy body (PutBucketAcl / PutObjectAcl)."""
    grants: list[Grant] = []
    for grant in policy.get("Grants") or []:
        grantee = grant.get("Grantee") or {}
        permission = grant.get("Permission")
        if permission not in PERMISSIONS:
            raise MalformedXML()
        kind = grantee.get("Type")
        if kind == "CanonicalUser" and grantee.get("ID"):
            grants.append([*_grantee("id", grantee["ID"]), permission])
        elif kind == "Group" and grantee.get("URI"):
            grants.append([*_grantee("uri", grantee["URI"]), permission])
        elif kind == "AmazonCustomerByEmail" and grantee.get("EmailAddress"):
            grants.append([*_grantee("email", grantee["EmailAddress"]), permission])
        else:
            raise MalformedXML()
    return grants


def is_public(grants: list[Grant] | None) -> bool:
    return any(kind == "uri" and value in PUBLIC_GROUPS for kind, value, _ in grants or ())


def owner_only(grants: list[Grant] | None, owner_id: str) -> bool:
    """True for an ACL that grants nothing beyond the owner's full control (accepted with ACLs disabled)."""
    return all(kind == "id" and value == owner_id and permission == "FULL_CONTROL"
               for kind, value, permission in grants or ())


def permits(grants: list[Grant] | None, owner_id: str, principal_id: str | None, permission: str,
            ignore_public: bool) -> bool:
    """Does the ACL give `principal_id` (None: anonymous) `permission`? FULL_CONTROL implies every permission."""
    for kind, value, granted in grants if grants is not None else owner_full_control(owner_id):
        if granted != permission and granted != "FULL_CONTROL":
            continue
        if kind == "id" and principal_id is not None and value == principal_id:
            return True
        if kind == "uri" and not ignore_public:
            if value == ALL_USERS or (value == AUTHENTICATED_USERS and principal_id is not None):
                return True
    return False


def acl_wire(grants: list[Grant] | None, owner: Owner) -> dict[str, Any]:
    """Get{Bucket,Object}Acl output: the owner and each grant with its grantee."""
    out: list[dict[str, Any]] = []
    for kind, value, permission in grants if grants is not None else owner_full_control(owner.id):
        if kind == "id":
            grantee: dict[str, Any] = {"Type": "CanonicalUser", "ID": value}
            if value == owner.id:
                grantee["DisplayName"] = owner.name
        elif kind == "uri":
            grantee = {"Type": "Group", "URI": value}
        else:
            grantee = {"Type": "AmazonCustomerByEmail", "EmailAddress": value}
        out.append({"Grantee": grantee, "Permission": permission})
    return {"Owner": owner.wire(), "Grants": out}
