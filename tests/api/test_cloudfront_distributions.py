"""CloudFront distributions through boto3: create with AWS's defaults, InProgress → Deployed (the SDK waiter passes),
ETag/IfMatch updates, delete only when disabled, listing, tags, and validation errors like AWS's."""
from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.conftest import make_client

CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"


@pytest.fixture(scope="module")
def cf(endpoint: str) -> Any:
    return make_client(endpoint, "cloudfront")


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def s3_origin(ident: str = "s3", bucket: str = "site") -> dict[str, Any]:
    return {"Id": ident, "DomainName": f"{bucket}.s3.us-east-1.amazonaws.com",
            "S3OriginConfig": {"OriginAccessIdentity": ""}}


def custom_origin(ident: str = "api", domain: str = "api.example.com") -> dict[str, Any]:
    return {"Id": ident, "DomainName": domain, "OriginPath": "/v1",
            "CustomHeaders": {"Quantity": 1, "Items": [{"HeaderName": "X-Secret", "HeaderValue": "s"}]},
            "CustomOriginConfig": {"HTTPPort": 8080, "HTTPSPort": 443, "OriginProtocolPolicy": "http-only",
                                   "OriginReadTimeout": 10}}


def config(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "CallerReference": uuid.uuid4().hex, "Comment": "test", "Enabled": True,
        "Origins": {"Quantity": 2, "Items": [s3_origin(), custom_origin()]},
        "DefaultCacheBehavior": {"TargetOriginId": "s3", "ViewerProtocolPolicy": "redirect-to-https",
                                 "CachePolicyId": CACHING_OPTIMIZED, "Compress": True},
    }
    base.update(overrides)
    return base


def legacy_behavior(**overrides: Any) -> dict[str, Any]:
    behavior: dict[str, Any] = {
        "PathPattern": "/api/*", "TargetOriginId": "api", "ViewerProtocolPolicy": "allow-all",
        "ForwardedValues": {"QueryString": True, "Cookies": {"Forward": "none"}}, "MinTTL": 0,
        "AllowedMethods": {"Quantity": 7, "Items": ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"],
                           "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]}},
    }
    behavior.update(overrides)
    return behavior


def test_create_fills_in_defaults_and_deploys_for_the_waiter(cf: Any) -> None:
    created = cf.create_distribution(DistributionConfig=config(
        DefaultRootObject="index.html",
        CacheBehaviors={"Quantity": 1, "Items": [legacy_behavior()]},
        CustomErrorResponses={"Quantity": 1, "Items": [
            {"ErrorCode": 404, "ResponsePagePath": "/404.html", "ResponseCode": "404", "ErrorCachingMinTTL": 30}]}))
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    dist = created["Distribution"]
    ident = dist["Id"]
    assert ident.startswith("E") and len(ident) == 14
    assert dist["Status"] == "InProgress"
    assert dist["ARN"] == f"arn:aws:cloudfront::000000000000:distribution/{ident}"
    assert dist["DomainName"] == f"{ident.lower()}.cloudfront.localhost"
    assert created["Location"].endswith(f"/2020-05-31/distribution/{ident}")
    stored = dist["DistributionConfig"]
    assert stored["PriceClass"] == "PriceClass_All" and stored["HttpVersion"] == "http2"
    assert stored["DefaultCacheBehavior"]["AllowedMethods"]["CachedMethods"]["Quantity"] == 2
    legacy = stored["CacheBehaviors"]["Items"][0]
    assert (legacy["MinTTL"], legacy["DefaultTTL"], legacy["MaxTTL"]) == (0, 86400, 31536000)
    origin = stored["Origins"]["Items"][1]
    assert origin["ConnectionAttempts"] == 3 and origin["ConnectionTimeout"] == 10
    assert origin["CustomOriginConfig"]["OriginKeepaliveTimeout"] == 5
    cf.get_waiter("distribution_deployed").wait(Id=ident, WaiterConfig={"Delay": 1, "MaxAttempts": 3})
    got = cf.get_distribution(Id=ident)
    assert got["Distribution"]["Status"] == "Deployed"
    assert got["ETag"] == created["ETag"]
    assert cf.get_distribution_config(Id=ident)["DistributionConfig"] == stored


def test_update_needs_the_current_etag(cf: Any) -> None:
    created = cf.create_distribution(DistributionConfig=config())
    ident, etag = created["Distribution"]["Id"], created["ETag"]
    current = cf.get_distribution_config(Id=ident)["DistributionConfig"]
    changed = copy.deepcopy(current)
    changed["Comment"] = "changed"
    with pytest.raises(ClientError) as missing:
        cf.update_distribution(Id=ident, DistributionConfig=changed, IfMatch="")
    assert error_code(missing) == "InvalidIfMatchVersion"
    with pytest.raises(ClientError) as stale:
        cf.update_distribution(Id=ident, DistributionConfig=changed, IfMatch="EWRONGWRONGWRO")
    assert error_code(stale) == "PreconditionFailed"
    assert stale.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    updated = cf.update_distribution(Id=ident, DistributionConfig=changed, IfMatch=etag)
    assert updated["ETag"] != etag
    assert updated["Distribution"]["Status"] == "InProgress"
    assert updated["Distribution"]["DistributionConfig"]["Comment"] == "changed"
    changed["CallerReference"] = "other"
    with pytest.raises(ClientError) as illegal:
        cf.update_distribution(Id=ident, DistributionConfig=changed, IfMatch=updated["ETag"])
    assert error_code(illegal) == "IllegalUpdate"


def test_delete_only_when_disabled(cf: Any) -> None:
    created = cf.create_distribution(DistributionConfig=config())
    ident, etag = created["Distribution"]["Id"], created["ETag"]
    with pytest.raises(ClientError) as enabled:
        cf.delete_distribution(Id=ident, IfMatch=etag)
    assert error_code(enabled) == "DistributionNotDisabled"
    disabled = cf.get_distribution_config(Id=ident)["DistributionConfig"]
    disabled["Enabled"] = False
    etag = cf.update_distribution(Id=ident, DistributionConfig=disabled, IfMatch=etag)["ETag"]
    with pytest.raises(ClientError) as no_match:
        cf.delete_distribution(Id=ident)
    assert error_code(no_match) == "InvalidIfMatchVersion"
    assert cf.delete_distribution(Id=ident, IfMatch=etag)["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as gone:
        cf.get_distribution(Id=ident)
    assert error_code(gone) == "NoSuchDistribution"
    assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_list_pages_with_markers(cf: Any) -> None:
    made = {cf.create_distribution(DistributionConfig=config())["Distribution"]["Id"] for _ in range(3)}
    seen: list[str] = []
    marker = ""
    while True:
        page = cf.list_distributions(MaxItems="2", Marker=marker)["DistributionList"]
        assert page["Quantity"] <= 2
        seen += [d["Id"] for d in page.get("Items", [])]
        if not page["IsTruncated"]:
            break
        marker = page["NextMarker"]
    assert made <= set(seen)
    summary = next(d for d in cf.list_distributions()["DistributionList"]["Items"] if d["Id"] in made)
    assert summary["Status"] == "Deployed" and summary["Origins"]["Quantity"] == 2
    paginated = [d["Id"] for p in cf.get_paginator("list_distributions").paginate(PaginationConfig={"PageSize": 2})
                 for d in p["DistributionList"].get("Items", [])]
    assert made <= set(paginated)


def test_caller_reference_and_aliases_are_unique(cf: Any) -> None:
    body = config(Aliases={"Quantity": 1, "Items": [f"www.{uuid.uuid4().hex[:8]}.example.com"]})
    cf.create_distribution(DistributionConfig=body)
    with pytest.raises(ClientError) as again:
        cf.create_distribution(DistributionConfig=body)
    assert error_code(again) == "DistributionAlreadyExists"
    with pytest.raises(ClientError) as cname:
        cf.create_distribution(DistributionConfig={**body, "CallerReference": uuid.uuid4().hex})
    assert error_code(cname) == "CNAMEAlreadyExists"


@pytest.mark.parametrize("overrides, code", [
    ({"Origins": {"Quantity": 3, "Items": [s3_origin()]}}, "InconsistentQuantities"),
    ({"DefaultCacheBehavior": {"TargetOriginId": "nope", "ViewerProtocolPolicy": "allow-all",
                               "CachePolicyId": CACHING_OPTIMIZED}}, "NoSuchOrigin"),
    ({"DefaultCacheBehavior": {"TargetOriginId": "s3", "ViewerProtocolPolicy": "allow-all",
                               "CachePolicyId": "00000000-0000-0000-0000-000000000000"}}, "NoSuchCachePolicy"),
    ({"DefaultCacheBehavior": {"TargetOriginId": "s3", "ViewerProtocolPolicy": "allow-all",
                               "CachePolicyId": CACHING_OPTIMIZED,
                               "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}}}},
     "InvalidArgument"),
    ({"DefaultCacheBehavior": {"TargetOriginId": "s3", "ViewerProtocolPolicy": "allow-all",
                               "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
                               "MinTTL": 100, "DefaultTTL": 10}}, "InvalidTTLOrder"),
    ({"CacheBehaviors": {"Quantity": 76, "Items": [legacy_behavior(PathPattern=f"/p{i}/*") for i in range(76)]}},
     "TooManyCacheBehaviors"),
    ({"CustomErrorResponses": {"Quantity": 1, "Items": [{"ErrorCode": 418}]}}, "InvalidErrorCode"),
    ({"CustomErrorResponses": {"Quantity": 1, "Items": [{"ErrorCode": 404, "ResponsePagePath": "x.html",
                                                         "ResponseCode": "200"}]}}, "InvalidRelativePath"),
    ({"DefaultRootObject": "/index.html"}, "InvalidDefaultRootObject"),
    ({"Origins": {"Quantity": 1, "Items": [{"Id": "s3", "DomainName": "example.com",
                                            "S3OriginConfig": {"OriginAccessIdentity": ""}}]}}, "InvalidArgument"),
    ({"Origins": {"Quantity": 1, "Items": [{"Id": "s3", "DomainName": "site.s3.amazonaws.com"}]}}, "InvalidOrigin"),
    ({"Origins": {"Quantity": 1, "Items": [{**s3_origin(), "OriginAccessControlId": "ENOSUCHOAC0000"}]}},
     "NoSuchOriginAccessControl"),
    ({"Origins": {"Quantity": 2, "Items": [s3_origin(), {**custom_origin(), "CustomOriginConfig": {
        "HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "http-only", "OriginReadTimeout": 999}}]}},
     "InvalidOriginReadTimeout"),
    ({"Origins": {"Quantity": 2, "Items": [s3_origin(), {**custom_origin(), "CustomHeaders": {
        "Quantity": 1, "Items": [{"HeaderName": "Host", "HeaderValue": "x"}]}}]}}, "InvalidArgument"),
])
def test_validation_errors(cf: Any, overrides: dict[str, Any], code: str) -> None:
    with pytest.raises(ClientError) as exc:
        cf.create_distribution(DistributionConfig=config(**overrides))
    assert error_code(exc) == code
    assert exc.value.response["Error"]["Type"] == "Sender"


def test_origin_groups_and_their_members(cf: Any) -> None:
    group = {"Id": "failover", "FailoverCriteria": {"StatusCodes": {"Quantity": 2, "Items": [500, 503]}},
             "Members": {"Quantity": 2, "Items": [{"OriginId": "api"}, {"OriginId": "s3"}]}}
    created = cf.create_distribution(DistributionConfig=config(
        OriginGroups={"Quantity": 1, "Items": [group]},
        DefaultCacheBehavior={"TargetOriginId": "failover", "ViewerProtocolPolicy": "allow-all",
                              "CachePolicyId": CACHING_OPTIMIZED}))
    stored = created["Distribution"]["DistributionConfig"]["OriginGroups"]["Items"][0]
    assert stored["FailoverCriteria"]["StatusCodes"]["Items"] == [500, 503]
    bad = {**group, "Members": {"Quantity": 2, "Items": [{"OriginId": "api"}, {"OriginId": "nope"}]}}
    with pytest.raises(ClientError) as exc:
        cf.create_distribution(DistributionConfig=config(OriginGroups={"Quantity": 1, "Items": [bad]}))
    assert error_code(exc) == "NoSuchOrigin"
    codes = {**group, "FailoverCriteria": {"StatusCodes": {"Quantity": 1, "Items": [418]}}}
    with pytest.raises(ClientError) as exc:
        cf.create_distribution(DistributionConfig=config(OriginGroups={"Quantity": 1, "Items": [codes]}))
    assert error_code(exc) == "InvalidArgument"


def test_tags_and_create_with_tags(cf: Any) -> None:
    created = cf.create_distribution_with_tags(DistributionConfigWithTags={
        "DistributionConfig": config(), "Tags": {"Items": [{"Key": "team", "Value": "web"}]}})
    arn = created["Distribution"]["ARN"]
    assert cf.list_tags_for_resource(Resource=arn)["Tags"]["Items"] == [{"Key": "team", "Value": "web"}]
    cf.tag_resource(Resource=arn, Tags={"Items": [{"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "api"}]})
    tags = {t["Key"]: t["Value"] for t in cf.list_tags_for_resource(Resource=arn)["Tags"]["Items"]}
    assert tags == {"team": "api", "env": "dev"}
    cf.untag_resource(Resource=arn, TagKeys={"Items": ["team"]})
    assert cf.list_tags_for_resource(Resource=arn)["Tags"]["Items"] == [{"Key": "env", "Value": "dev"}]
    with pytest.raises(ClientError) as exc:
        cf.list_tags_for_resource(Resource="arn:aws:cloudfront::000000000000:distribution/ENOSUCHDIST000")
    assert error_code(exc) == "NoSuchResource"
    with pytest.raises(ClientError) as bad:
        cf.tag_resource(Resource=arn, Tags={"Items": [{"Key": "aws:reserved", "Value": "x"}]})
    assert error_code(bad) == "InvalidTagging"


def test_invalidations_are_idempotent_and_complete(cf: Any) -> None:
    ident = cf.create_distribution(DistributionConfig=config())["Distribution"]["Id"]
    batch = {"Paths": {"Quantity": 2, "Items": ["/index.html", "/img/*"]}, "CallerReference": "ref-1"}
    created = cf.create_invalidation(DistributionId=ident, InvalidationBatch=batch)
    inv = created["Invalidation"]
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert inv["Status"] == "InProgress" and inv["Id"].startswith("I")
    # the purge is immediate: a later read shows nothing in progress
    assert cf.get_distribution(Id=ident)["Distribution"]["InProgressInvalidationBatches"] == 0
    again = cf.create_invalidation(DistributionId=ident, InvalidationBatch=batch)["Invalidation"]
    assert again["Id"] == inv["Id"]
    with pytest.raises(ClientError) as conflict:
        cf.create_invalidation(DistributionId=ident, InvalidationBatch={**batch, "Paths": {"Quantity": 1,
                                                                                          "Items": ["/other"]}})
    assert error_code(conflict) == "InvalidationBatchAlreadyExists"
    cf.get_waiter("invalidation_completed").wait(DistributionId=ident, Id=inv["Id"],
                                                 WaiterConfig={"Delay": 1, "MaxAttempts": 3})
    got = cf.get_invalidation(DistributionId=ident, Id=inv["Id"])["Invalidation"]
    assert got["Status"] == "Completed" and got["InvalidationBatch"]["Paths"]["Items"] == ["/index.html", "/img/*"]
    listed = cf.list_invalidations(DistributionId=ident)["InvalidationList"]
    assert [i["Id"] for i in listed["Items"]] == [inv["Id"]]
    with pytest.raises(ClientError) as wildcard:
        cf.create_invalidation(DistributionId=ident, InvalidationBatch={
            "Paths": {"Quantity": 1, "Items": ["/a*/b"]}, "CallerReference": "ref-2"})
    assert error_code(wildcard) == "InvalidArgument"
    with pytest.raises(ClientError) as missing:
        cf.get_invalidation(DistributionId=ident, Id="INOSUCHINVALID")
    assert error_code(missing) == "NoSuchInvalidation"
