"""What a write asks of the object it creates, beyond its bytes: owner, ACL, tags, Object Lock, encryption.

PutObject, CopyObject, CreateMultipartUpload and browser POST uploads all validate these the same way, before the
body is read; CreateMultipartUpload keeps them on the upload until CompleteMultipartUpload applies them.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from miniaws.core.context import RequestContext
from miniaws.services.s3 import acl
from miniaws.services.s3.errors import AccessControlListNotSupported, AccessDenied, InvalidArgument
from miniaws.services.s3.lock import write_lock
from miniaws.services.s3.models import Bucket, S3Object
from miniaws.services.s3.tagging import header_tags


@dataclass(slots=True)
class ObjectSettings:
    owner_id: str
    owner_name: str
    acl: list[list[str]] | None = None
    tags: dict[str, str] | None = None
    lock_mode: str | None = None
    lock_until: float | None = None
    legal_hold: str | None = None
    encryption: dict[str, Any] | None = None

    def apply(self, obj: S3Object) -> None:
        obj.owner_id, obj.owner_name = self.owner_id, self.owner_name
        obj.acl = self.acl
        obj.tags = self.tags
        obj.lock_mode, obj.lock_until, obj.legal_hold = self.lock_mode, self.lock_until, self.legal_hold
        obj.encryption = self.encryption

    def record(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "ObjectSettings":
        return cls(**record)


def object_settings(ctx: RequestContext, bucket: Bucket, params: dict[str, Any], *,
                    copy_of: S3Object | None = None) -> ObjectSettings:
    """Validate and resolve the settings a write request carries for its new object (`copy_of`: CopyObject's
    source, whose tags are copied unless x-amz-tagging-directive is REPLACE)."""
    writer_id, writer_name = ctx.principal.canonical_id, ctx.principal.display_name
    grants, owner_id, owner_name = object_acl(bucket, params, writer_id, writer_name)
    mode, until, hold = write_lock(bucket, params, ctx.clock.now())
    return ObjectSettings(owner_id, owner_name, acl=grants, tags=_tags(params, copy_of), lock_mode=mode,
                          lock_until=until, legal_hold=hold)


def _tags(params: dict[str, Any], copy_of: S3Object | None) -> dict[str, str] | None:
    if copy_of is not None:
        directive = params.get("TaggingDirective") or "COPY"
        if directive not in ("COPY", "REPLACE"):
            raise InvalidArgument("Unknown tagging directive.", ArgumentName="x-amz-tagging-directive",
                                  ArgumentValue=str(directive))
        if directive == "COPY":
            return dict(copy_of.tags) if copy_of.tags else None
    text = params.get("Tagging")
    return (header_tags(str(text)) or None) if text is not None else None


def object_acl(bucket: Bucket, params: dict[str, Any], writer_id: str,
               writer_name: str) -> tuple[list[acl.Grant] | None, str, str]:
    """(grants to store, owner id, owner name) for a new object, by the bucket's ObjectOwnership
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html)."""
    ownership = bucket.ownership or "ObjectWriter"
    owner_id, owner_name = bucket.owner.id, bucket.owner.name
    if ownership == "ObjectWriter" or (ownership == "BucketOwnerPreferred"
                                       and params.get("ACL") != "bucket-owner-full-control"):
        owner_id, owner_name = writer_id, writer_name
    grants = acl.requested_grants(params, owner_id, bucket.owner.id)
    if ownership == "BucketOwnerEnforced":
        # ACLs disabled: only an ACL that gives the (bucket) owner full control and nothing else is accepted
        if not acl.owner_only(grants, owner_id):
            raise AccessControlListNotSupported()
        return None, owner_id, owner_name
    check_public_acl(bucket, grants)
    return grants, owner_id, owner_name


def check_public_acl(bucket: Bucket, grants: list[acl.Grant] | None) -> None:
    """BlockPublicAcls: a request that would set a public ACL is refused."""
    if (bucket.public_access_block or {}).get("BlockPublicAcls") and acl.is_public(grants):
        raise AccessDenied()
