"""Generates `miniaws/services/<svc>/_spec.py`, the wire tables the codecs read, from botocore's models.

Run `python -m miniaws._dev.genspec` after changing OPERATIONS (or upgrading botocore); `--check` exits 1
when a committed file differs from what would be generated now. botocore is a dev/test dependency only.
"""
from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path
from typing import Any

#: the operations miniaws implements, per botocore service name; only these get shapes in the spec
OPERATIONS: dict[str, list[str]] = {
    "s3": [
        "CreateBucket", "DeleteBucket", "HeadBucket", "ListBuckets", "GetBucketLocation",
        "PutObject", "GetObject", "HeadObject", "DeleteObject", "DeleteObjects", "CopyObject",
        "ListObjects", "ListObjectsV2",
        "CreateMultipartUpload", "UploadPart", "UploadPartCopy", "CompleteMultipartUpload",
        "AbortMultipartUpload", "ListParts", "ListMultipartUploads",
        # S3 in depth (issue 4): versioning, access control, tagging, CORS, Object Lock, bucket configuration
        "PutBucketVersioning", "GetBucketVersioning", "ListObjectVersions",
        "GetBucketAcl", "PutBucketAcl", "GetObjectAcl", "PutObjectAcl",
        "PutBucketOwnershipControls", "GetBucketOwnershipControls", "DeleteBucketOwnershipControls",
        "PutBucketPolicy", "GetBucketPolicy", "DeleteBucketPolicy", "GetBucketPolicyStatus",
        "PutPublicAccessBlock", "GetPublicAccessBlock", "DeletePublicAccessBlock",
        "PutObjectTagging", "GetObjectTagging", "DeleteObjectTagging",
        "PutBucketTagging", "GetBucketTagging", "DeleteBucketTagging", "GetObjectAttributes",
        "PutBucketCors", "GetBucketCors", "DeleteBucketCors",
        "PutObjectLockConfiguration", "GetObjectLockConfiguration", "PutObjectRetention", "GetObjectRetention",
        "PutObjectLegalHold", "GetObjectLegalHold",
        "PutBucketEncryption", "GetBucketEncryption", "DeleteBucketEncryption",
        "PutBucketWebsite", "GetBucketWebsite", "DeleteBucketWebsite",
        "PutBucketLifecycleConfiguration", "GetBucketLifecycleConfiguration", "DeleteBucketLifecycle",
        "PutBucketNotificationConfiguration", "GetBucketNotificationConfiguration",
    ],
    "sts": ["GetCallerIdentity", "AssumeRole", "GetSessionToken"],
    "kms": [
        "CreateKey", "DescribeKey", "ListKeys", "EnableKey", "DisableKey", "ScheduleKeyDeletion",
        "CancelKeyDeletion", "UpdateKeyDescription", "TagResource", "UntagResource", "ListResourceTags",
        "CreateAlias", "UpdateAlias", "DeleteAlias", "ListAliases",
        "Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "GenerateRandom",
        "Sign", "Verify", "GetPublicKey", "GenerateMac", "VerifyMac",
        "EnableKeyRotation", "DisableKeyRotation", "GetKeyRotationStatus", "RotateKeyOnDemand",
        "ListKeyRotations",
        "GetKeyPolicy", "PutKeyPolicy", "ListKeyPolicies",
        "CreateGrant", "ListGrants", "RetireGrant", "RevokeGrant", "ListRetirableGrants",
    ],
    "sqs": [
        "CreateQueue", "GetQueueUrl", "ListQueues", "DeleteQueue", "PurgeQueue", "GetQueueAttributes",
        "SetQueueAttributes", "TagQueue", "UntagQueue", "ListQueueTags", "ListDeadLetterSourceQueues",
        "SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessage", "DeleteMessageBatch",
        "ChangeMessageVisibility", "ChangeMessageVisibilityBatch",
        "StartMessageMoveTask", "ListMessageMoveTasks", "CancelMessageMoveTask",
    ],
    "lambda": [
        "CreateFunction", "GetFunction", "GetFunctionConfiguration", "ListFunctions", "UpdateFunctionCode",
        "UpdateFunctionConfiguration", "DeleteFunction", "Invoke",
        "PublishVersion", "ListVersionsByFunction", "CreateAlias", "GetAlias", "UpdateAlias", "DeleteAlias",
        "ListAliases", "PutFunctionConcurrency", "GetFunctionConcurrency", "DeleteFunctionConcurrency",
        "GetAccountSettings", "TagResource", "UntagResource", "ListTags",
        "PutFunctionEventInvokeConfig", "GetFunctionEventInvokeConfig", "DeleteFunctionEventInvokeConfig",
        "PublishLayerVersion", "GetLayerVersion", "ListLayers", "ListLayerVersions", "DeleteLayerVersion",
        "CreateEventSourceMapping", "GetEventSourceMapping", "ListEventSourceMappings", "UpdateEventSourceMapping",
        "DeleteEventSourceMapping",
        "PutProvisionedConcurrencyConfig", "GetProvisionedConcurrencyConfig", "DeleteProvisionedConcurrencyConfig",
        "ListProvisionedConcurrencyConfigs",
    ],
    "route53": [
        "CreateHostedZone", "GetHostedZone", "ListHostedZones", "ListHostedZonesByName", "DeleteHostedZone",
        "GetHostedZoneCount", "UpdateHostedZoneComment",
        "ChangeResourceRecordSets", "GetChange", "ListResourceRecordSets",
        "CreateHealthCheck", "GetHealthCheck", "ListHealthChecks", "UpdateHealthCheck", "DeleteHealthCheck",
        "GetHealthCheckCount", "GetHealthCheckStatus", "GetHealthCheckLastFailureReason",
        "ChangeTagsForResource", "ListTagsForResource", "TestDNSAnswer",
    ],
    "sns": [
        "CreateTopic", "DeleteTopic", "ListTopics", "GetTopicAttributes", "SetTopicAttributes",
        "TagResource", "UntagResource", "ListTagsForResource",
        "Subscribe", "Unsubscribe", "ConfirmSubscription", "ListSubscriptions", "ListSubscriptionsByTopic",
        "GetSubscriptionAttributes", "SetSubscriptionAttributes", "Publish", "PublishBatch",
    ],
    "cloudfront": [
        "CreateDistribution", "CreateDistributionWithTags", "GetDistribution", "GetDistributionConfig",
        "UpdateDistribution", "DeleteDistribution", "ListDistributions", "ListDistributionsByCachePolicyId",
        "ListDistributionsByOriginRequestPolicyId", "ListDistributionsByResponseHeadersPolicyId",
        "TagResource", "UntagResource", "ListTagsForResource",
        "CreateCachePolicy", "GetCachePolicy", "GetCachePolicyConfig", "UpdateCachePolicy", "DeleteCachePolicy",
        "ListCachePolicies",
        "CreateOriginRequestPolicy", "GetOriginRequestPolicy", "GetOriginRequestPolicyConfig",
        "UpdateOriginRequestPolicy", "DeleteOriginRequestPolicy", "ListOriginRequestPolicies",
        "CreateResponseHeadersPolicy", "GetResponseHeadersPolicy", "GetResponseHeadersPolicyConfig",
        "UpdateResponseHeadersPolicy", "DeleteResponseHeadersPolicy", "ListResponseHeadersPolicies",
        "CreateOriginAccessControl", "GetOriginAccessControl", "GetOriginAccessControlConfig",
        "UpdateOriginAccessControl", "DeleteOriginAccessControl", "ListOriginAccessControls",
        "CreateInvalidation", "GetInvalidation", "ListInvalidations",
    ],
    "logs": [
        "CreateLogGroup", "DeleteLogGroup", "DescribeLogGroups", "CreateLogStream", "DeleteLogStream",
        "DescribeLogStreams", "PutLogEvents", "GetLogEvents", "FilterLogEvents",
        "PutRetentionPolicy", "DeleteRetentionPolicy", "TagResource", "UntagResource", "ListTagsForResource",
        "TagLogGroup", "UntagLogGroup", "ListTagsLogGroup", "PutLogGroupDeletionProtection",
    ],
    "elbv2": [
        "CreateLoadBalancer", "DescribeLoadBalancers", "DeleteLoadBalancer", "DescribeLoadBalancerAttributes",
        "ModifyLoadBalancerAttributes", "SetSecurityGroups", "SetSubnets", "SetIpAddressType",
        "AddTags", "RemoveTags", "DescribeTags",
        "CreateListener", "DescribeListeners", "ModifyListener", "DeleteListener", "DescribeListenerCertificates",
        "AddListenerCertificates", "RemoveListenerCertificates",
        "CreateRule", "DescribeRules", "ModifyRule", "DeleteRule", "SetRulePriorities",
        "CreateTargetGroup", "DescribeTargetGroups", "ModifyTargetGroup", "DeleteTargetGroup",
        "DescribeTargetGroupAttributes", "ModifyTargetGroupAttributes", "RegisterTargets", "DeregisterTargets",
        "DescribeTargetHealth", "DescribeAccountLimits", "DescribeSSLPolicies",
    ],
}

#: botocore service name -> package under miniaws/services/ when they differ (`lambda` is a keyword)
PACKAGES: dict[str, str] = {"lambda": "lambda_"}

#: metadata the codecs and the gateway read; anything else in botocore's metadata is dropped
METADATA_KEYS = ("apiVersion", "awsQueryCompatible", "endpointPrefix", "jsonVersion", "protocol",
                 "serviceId", "signingName", "targetPrefix", "xmlNamespace")

#: Fixes for what botocore's models leave out because botocore itself never needs it.
#: S3 puts its namespace on every response root (https://docs.aws.amazon.com/AmazonS3/latest/API/
#: API_ListObjectsV2.html#API_ListObjectsV2_ResponseSyntax) but the model only carries it on input payloads.
METADATA_OVERRIDES: dict[str, dict[str, Any]] = {
    "s3": {"xmlNamespace": "http://s3.amazonaws.com/doc/2006-03-01/"},
    # Route 53 and CloudFront likewise, for when they are added to OPERATIONS:
    # https://docs.aws.amazon.com/Route53/latest/APIReference/API_CreateHostedZone.html#API_CreateHostedZone_ResponseSyntax
    "route53": {"xmlNamespace": "https://route53.amazonaws.com/doc/2013-04-01/"},
    # https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_GetDistribution.html#API_GetDistribution_ResponseSyntax
    "cloudfront": {"xmlNamespace": "http://cloudfront.amazonaws.com/doc/2020-05-31/"},
    # SQS's legacy query protocol (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/
    # sqs-api-responses.html); botocore only carries the JSON model now
    "sqs": {"xmlNamespace": "http://queue.amazonaws.com/doc/2012-11-05/"},
}

#: Deep-merged into the generated shapes. rest-xml responses without a payload member are rooted at the
#: output shape's `locationName` (the shape name when absent, which is right for Route 53); botocore's
#: parser ignores the root name, so S3's model never says it, while other SDKs and AWS do.
#: `xmlText` (our own key) marks the member whose value is the element's text rather than a child.
#: Each root is from the "Response Syntax" section of the operation's page in the S3 API reference,
#: https://docs.aws.amazon.com/AmazonS3/latest/API/API_<Operation>.html
SHAPE_OVERRIDES: dict[str, dict[str, dict[str, Any]]] = {
    "s3": {
        "ListObjectsV2Output": {"locationName": "ListBucketResult"},  # API_ListObjectsV2.html
        "ListObjectsOutput": {"locationName": "ListBucketResult"},  # API_ListObjects.html
        "ListBucketsOutput": {"locationName": "ListAllMyBucketsResult"},  # API_ListBuckets.html
        # API_CreateMultipartUpload.html
        "CreateMultipartUploadOutput": {"locationName": "InitiateMultipartUploadResult"},
        # API_CompleteMultipartUpload.html
        "CompleteMultipartUploadOutput": {"locationName": "CompleteMultipartUploadResult"},
        "DeleteObjectsOutput": {"locationName": "DeleteResult"},  # API_DeleteObjects.html
        "ListPartsOutput": {"locationName": "ListPartsResult"},  # API_ListParts.html
        # API_ListMultipartUploads.html
        "ListMultipartUploadsOutput": {"locationName": "ListMultipartUploadsResult"},
        # API_GetBucketLocation.html: the region *is* the root's text, <LocationConstraint xmlns="...">
        # eu-west-1</LocationConstraint>, empty for us-east-1; botocore special-cases it in handlers.py.
        "GetBucketLocationOutput": {"locationName": "LocationConstraint",
                                    "members": {"LocationConstraint": {"xmlText": True}}},
        "ListObjectVersionsOutput": {"locationName": "ListVersionsResult"},  # API_ListObjectVersions.html
        "GetBucketVersioningOutput": {"locationName": "VersioningConfiguration"},  # API_GetBucketVersioning.html
        "GetBucketAclOutput": {"locationName": "AccessControlPolicy"},  # API_GetBucketAcl.html
        "GetObjectAclOutput": {"locationName": "AccessControlPolicy"},  # API_GetObjectAcl.html
        "GetBucketTaggingOutput": {"locationName": "Tagging"},  # API_GetBucketTagging.html
        "GetObjectTaggingOutput": {"locationName": "Tagging"},  # API_GetObjectTagging.html
        "GetBucketCorsOutput": {"locationName": "CORSConfiguration"},  # API_GetBucketCors.html
        # API_GetObjectAttributes.html
        "GetObjectAttributesOutput": {"locationName": "GetObjectAttributesResponse"},
        "GetBucketWebsiteOutput": {"locationName": "WebsiteConfiguration"},  # API_GetBucketWebsite.html
        # API_GetBucketLifecycleConfiguration.html
        "GetBucketLifecycleConfigurationOutput": {"locationName": "LifecycleConfiguration"},
    },
}

# SQS: botocore's JSON model dropped the element and parameter names of the query protocol SQS still accepts
# from older SDKs (`Attribute.1.Name`, `MessageAttribute.1.Value.StringValue`, `<Message>`, ...). These are
# the names of the query model SQS published before its 2023 move to JSON (API reference, each operation's
# "Request Parameters" and "Response Elements" in the query form); JSON ignores them.
_SQS_ITEMS = {
    "AttributeNameList": "AttributeName", "MessageAttributeNameList": "MessageAttributeName",
    "MessageSystemAttributeList": "MessageSystemAttributeName", "QueueUrlList": "QueueUrl",
    "MessageList": "Message", "TagKeyList": "TagKey", "StringList": "StringListValue",
    "BinaryList": "BinaryListValue", "BatchResultErrorEntryList": "BatchResultErrorEntry",
    "SendMessageBatchRequestEntryList": "SendMessageBatchRequestEntry",
    "SendMessageBatchResultEntryList": "SendMessageBatchResultEntry",
    "DeleteMessageBatchRequestEntryList": "DeleteMessageBatchRequestEntry",
    "DeleteMessageBatchResultEntryList": "DeleteMessageBatchResultEntry",
    "ChangeMessageVisibilityBatchRequestEntryList": "ChangeMessageVisibilityBatchRequestEntry",
    "ChangeMessageVisibilityBatchResultEntryList": "ChangeMessageVisibilityBatchResultEntry",
    "ListMessageMoveTasksResultEntryList": "ListMessageMoveTasksResultEntry",
}
_NAME_VALUE = {"key": {"locationName": "Name"}, "value": {"locationName": "Value"}}
SHAPE_OVERRIDES["sqs"] = {
    **{shape: {"member": {"locationName": item}} for shape, item in _SQS_ITEMS.items()},
    "QueueAttributeMap": {"locationName": "Attribute", **_NAME_VALUE},
    "MessageSystemAttributeMap": {"locationName": "Attribute", **_NAME_VALUE},
    "MessageBodyAttributeMap": {"locationName": "MessageAttribute", **_NAME_VALUE},
    "MessageBodySystemAttributeMap": {"locationName": "MessageSystemAttribute", **_NAME_VALUE},
    "TagMap": {"locationName": "Tag", "key": {"locationName": "Key"}, "value": {"locationName": "Value"}},
}

#: Operations whose wire signature is identical to another one's: the router answers with the winner.
#: Every pair is reported by the generator, so a new collision in a future botocore fails loudly.
ROUTE_SHADOWS: dict[str, dict[str, str]] = {
    "s3": {
        # the deprecated pre-2014 names of the same calls (the model marks them deprecated)
        "GetBucketLifecycle": "GetBucketLifecycleConfiguration",
        "PutBucketLifecycle": "PutBucketLifecycleConfiguration",
        "GetBucketNotification": "GetBucketNotificationConfiguration",
        "PutBucketNotification": "PutBucketNotificationConfiguration",
        # directory buckets are listed through the S3 Express control endpoint, never path-style `GET /`
        "ListDirectoryBuckets": "ListBuckets",
    },
}

#: keys that only document (or only drive botocore's endpoint resolution) and never reach the wire
_STRIP_KEYS = frozenset({"documentation", "documentationUrl", "deprecated", "deprecatedMessage",
                         "deprecatedSince", "contextParam", "box", "synthetic"})
_OPERATION_KEYS = ("http", "httpChecksum")
_WIDTH = 110
_ROOT = Path(__file__).resolve().parents[2]


def load_model(service: str) -> dict[str, Any]:
    import botocore.session

    loader = botocore.session.get_session().get_component("data_loader")
    model: dict[str, Any] = loader.load_service_model(service, "service-2")
    return model


def botocore_version() -> str:
    import botocore

    return str(botocore.__version__)


def _strip(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip(v) for k, v in node.items() if k not in _STRIP_KEYS}
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _refs(shape: dict[str, Any]) -> list[str]:
    kind = shape["type"]
    if kind == "structure":
        return [m["shape"] for m in shape["members"].values()]
    if kind == "list":
        return [shape["member"]["shape"]]
    if kind == "map":
        return [shape["key"]["shape"], shape["value"]["shape"]]
    return []


def _operation(op: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: _strip(op[k]) for k in _OPERATION_KEYS if k in op}
    for key in ("input", "output"):
        if key in op:
            out[key] = _strip(op[key])
    if op.get("errors"):
        out["errors"] = sorted(e["shape"] for e in op["errors"])
    return out


def _route(name: str, op: dict[str, Any], shapes: dict[str, Any]) -> dict[str, Any]:
    path, _, qs = op["http"]["requestUri"].partition("?")
    literal: dict[str, str | None] = {}
    for part in filter(None, qs.split("&")):
        key, eq, value = part.partition("=")
        if key != "x-id":  # a botocore hint other SDKs never send; requiring it would misroute them
            literal[key] = value if eq else None
    route: dict[str, Any] = {"name": name, "method": op["http"]["method"], "path": path}
    if literal:
        route["query"] = literal
    shape = shapes[op["input"]["shape"]] if "input" in op else {"members": {}}
    req_query, req_headers = [], []
    for member in shape.get("required", []):
        ref = shape["members"][member]
        if ref.get("location") == "querystring":
            req_query.append(ref.get("locationName", member))
        elif ref.get("location") == "header":
            req_headers.append(ref.get("locationName", member).lower())
    if req_query:
        route["requiredQuery"] = sorted(req_query)
    if req_headers:
        route["requiredHeaders"] = sorted(req_headers)
    return route


def _routes(service: str, model: dict[str, Any]) -> list[dict[str, Any]]:
    shadows = ROUTE_SHADOWS.get(service, {})
    routes = [_route(name, op, model["shapes"]) for name, op in sorted(model["operations"].items())]
    by_signature: dict[str, list[str]] = {}
    for route in routes:
        signature = repr({k: v for k, v in route.items() if k != "name"})
        by_signature.setdefault(signature, []).append(route["name"])
    for names in by_signature.values():
        if len(names) < 2:
            continue
        winners = [n for n in names if n not in shadows]
        if len(winners) != 1 or any(shadows[n] != winners[0] for n in names if n in shadows):
            raise SystemExit(f"{service}: operations {names} share a route; resolve them in ROUTE_SHADOWS")
    for route in routes:
        if route["name"] in shadows:
            route["shadowedBy"] = shadows[route["name"]]
    return routes


def build_spec(service: str, model: dict[str, Any], operations: list[str]) -> dict[str, Any]:
    """The SPEC dict for `operations` of `service` (pure: the model is passed in)."""
    unknown = [n for n in operations if n not in model["operations"]]
    if unknown:
        raise SystemExit(f"{service}: no such operations in botocore's model: {unknown}")
    meta = model["metadata"]
    metadata = {k: meta[k] for k in METADATA_KEYS if k in meta}
    metadata.setdefault("signingName", meta["endpointPrefix"])
    metadata.update(METADATA_OVERRIDES.get(service, {}))
    ops = {name: _operation(model["operations"][name]) for name in operations}

    pending = [op[k]["shape"] for op in ops.values() for k in ("input", "output") if k in op]
    pending += [e for op in ops.values() for e in op.get("errors", [])]
    shapes: dict[str, Any] = {}
    while pending:
        name = pending.pop()
        if name not in shapes:
            shapes[name] = _strip(model["shapes"][name])
            pending.extend(_refs(shapes[name]))
    for name, patch in SHAPE_OVERRIDES.get(service, {}).items():
        if name not in model["shapes"]:
            raise SystemExit(f"{service}: SHAPE_OVERRIDES names unknown shape {name}")
        if name in shapes:
            _merge(shapes[name], patch)

    spec: dict[str, Any] = {"metadata": metadata, "operations": ops, "shapes": shapes}
    if meta["protocol"].startswith("rest"):
        spec["routes"] = _routes(service, model)
    else:
        # lets the codec tell "not implemented" (a real AWS action) from "no such action"
        spec["operationNames"] = sorted(model["operations"])
    return spec


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_inline(value[k])}" for k in sorted(value)) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    return repr(value)


def format_literal(value: Any, indent: int = 0, column: int = 0) -> str:
    """A deterministic, diff-friendly Python literal: sorted keys, one entry a line unless it fits."""
    flat = _inline(value)
    if column + len(flat) < _WIDTH or not isinstance(value, (dict, list)) or not value:
        return flat
    pad = " " * (indent + 4)
    if isinstance(value, dict):
        lines = []
        for k in sorted(value):
            head = f"{pad}{k!r}: "
            lines.append(head + format_literal(value[k], indent + 4, len(head)) + ",")
    else:
        lines = [pad + format_literal(v, indent + 4, len(pad)) + "," for v in value]
    opening, closing = ("{", "}") if isinstance(value, dict) else ("[", "]")
    return opening + "\n" + "\n".join(lines) + "\n" + " " * indent + closing


def render(service: str, spec: dict[str, Any], version: str) -> str:
    return (
        f'"""GENERATED by miniaws._dev.genspec from botocore {version} — DO NOT EDIT.\n\n'
        f"Wire tables for the {service} operations miniaws implements; "
        f"regenerate with `python -m miniaws._dev.genspec`.\n"
        '"""\n'
        "from __future__ import annotations\n\n"
        "from typing import Any\n\n"
        f"SPEC: dict[str, Any] = {format_literal(spec, 0, 23)}\n"
    )


def package_dir(service: str, root: Path = _ROOT) -> Path:
    return root / "miniaws" / "services" / PACKAGES.get(service, service)


def generate(service: str) -> str:
    """The text `_spec.py` of `service` should have now."""
    return render(service, build_spec(service, load_model(service), OPERATIONS[service]), botocore_version())


def check(root: Path = _ROOT) -> list[Path]:
    """Generated files that are missing or differ from what would be generated now."""
    stale = []
    for service in sorted(OPERATIONS):
        path = package_dir(service, root) / "_spec.py"
        if not path.exists() or path.read_text(encoding="utf-8") != generate(service):
            stale.append(path)
    return stale


def write(root: Path = _ROOT) -> list[Path]:
    written = []
    services = root / "miniaws" / "services"
    for service in sorted(OPERATIONS):
        pkg = package_dir(service, root)
        pkg.mkdir(parents=True, exist_ok=True)
        for init, doc in ((services / "__init__.py", "Control-plane AWS services, one package each."),
                          (pkg / "__init__.py", f"The {service} service.")):
            if not init.exists():
                init.write_text(f'"""{doc}"""\n', encoding="utf-8")
        path = pkg / "_spec.py"
        text = generate(service)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m miniaws._dev.genspec", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if a generated file is stale")
    args = parser.parse_args(argv)
    if args.check:
        stale = check()
        for path in stale:
            print(f"stale: {path.relative_to(_ROOT)} (run python -m miniaws._dev.genspec)")
        return 1 if stale else 0
    for path in write():
        print(f"wrote {path.relative_to(_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
