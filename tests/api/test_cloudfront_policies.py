"""CloudFront cache, origin request and response headers policies and origin access controls through boto3: the AWS
managed policies under their real ids and names, CRUD with ETags, in-use protection, and a restart keeps it all."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from miniaws.config import load_config
from miniaws.server import ServerThread
from tests.api.conftest import make_client

MANAGED_CACHE = {
    "658327ea-f89d-4fab-a63d-7e88639e58f6": "Managed-CachingOptimized",
    "4135ea2d-6df8-44a3-9df3-4b5a84be39ad": "Managed-CachingDisabled",
    "b2884449-e4de-46a7-ac36-70bc7f1ddd6d": "Managed-CachingOptimizedForUncompressedObjects",
    "83da9c7e-98b4-4e11-a168-04f0df8e2c65": "Managed-UseOriginCacheControlHeaders",
}
MANAGED_ORIGIN_REQUEST = {
    "216adef6-5c7f-47e4-b989-5492eafa07d3": "Managed-AllViewer",
    "b689b0a8-53d0-40ab-baf2-68738e2966ac": "Managed-AllViewerExceptHostHeader",
    "88a5eaf4-2fd4-4709-b370-b4c650ea3fcf": "Managed-CORS-S3Origin",
}
MANAGED_RESPONSE_HEADERS = {
    "67f7725c-6f97-4210-82d7-5512b31e9d03": "Managed-SecurityHeadersPolicy",
    "5cc3b908-e619-4b99-88e5-2cf7f45965bd": "Managed-CORS-With-Preflight",
    "60669652-455b-4ae9-85a4-c4c02393f86c": "Managed-SimpleCORS",
}


@pytest.fixture(scope="module")
def cf(endpoint: str) -> Any:
    return make_client(endpoint, "cloudfront")


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def cache_policy_config(name: str, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "Name": name, "Comment": "c", "MinTTL": 1, "DefaultTTL": 60, "MaxTTL": 3600,
        "ParametersInCacheKeyAndForwardedToOrigin": {
            "EnableAcceptEncodingGzip": True, "EnableAcceptEncodingBrotli": False,
            "HeadersConfig": {"HeaderBehavior": "whitelist", "Headers": {"Quantity": 1, "Items": ["X-Version"]}},
            "CookiesConfig": {"CookieBehavior": "none"},
            "QueryStringsConfig": {"QueryStringBehavior": "whitelist",
                                   "QueryStrings": {"Quantity": 1, "Items": ["v"]}}}}
    config.update(overrides)
    return config


def distribution_with(cf: Any, **behavior: Any) -> tuple[str, str]:
    created = cf.create_distribution(DistributionConfig={
        "CallerReference": uuid.uuid4().hex, "Comment": "", "Enabled": False,
        "Origins": {"Quantity": 1, "Items": [{"Id": "s3", "DomainName": "b.s3.amazonaws.com",
                                              "S3OriginConfig": {"OriginAccessIdentity": ""},
                                              **behavior.pop("origin", {})}]},
        "DefaultCacheBehavior": {"TargetOriginId": "s3", "ViewerProtocolPolicy": "allow-all", **behavior}})
    return created["Distribution"]["Id"], created["ETag"]


@pytest.mark.parametrize("lister, member, table", [
    ("list_cache_policies", "CachePolicy", MANAGED_CACHE),
    ("list_origin_request_policies", "OriginRequestPolicy", MANAGED_ORIGIN_REQUEST),
    ("list_response_headers_policies", "ResponseHeadersPolicy", MANAGED_RESPONSE_HEADERS),
])
def test_managed_policies_have_their_real_ids_and_names(cf: Any, lister: str, member: str,
                                                        table: dict[str, str]) -> None:
    listing = getattr(cf, lister)(Type="managed")[member + "List"]
    found = {i[member]["Id"]: i[member][member + "Config"]["Name"] for i in listing["Items"]}
    assert table.items() <= found.items()
    assert {i["Type"] for i in listing["Items"]} == {"managed"}


def test_managed_cache_policy_settings_and_protection(cf: Any) -> None:
    got = cf.get_cache_policy(Id="658327ea-f89d-4fab-a63d-7e88639e58f6")
    config = got["CachePolicy"]["CachePolicyConfig"]
    assert (config["MinTTL"], config["DefaultTTL"], config["MaxTTL"]) == (1, 86400, 31536000)
    assert config["ParametersInCacheKeyAndForwardedToOrigin"]["EnableAcceptEncodingGzip"] is True
    disabled = cf.get_cache_policy_config(Id="4135ea2d-6df8-44a3-9df3-4b5a84be39ad")["CachePolicyConfig"]
    assert disabled["MaxTTL"] == 0
    with pytest.raises(ClientError) as exc:
        cf.delete_cache_policy(Id="658327ea-f89d-4fab-a63d-7e88639e58f6", IfMatch=got["ETag"])
    assert error_code(exc) == "IllegalDelete"
    with pytest.raises(ClientError) as exc:
        cf.update_cache_policy(Id="658327ea-f89d-4fab-a63d-7e88639e58f6", IfMatch=got["ETag"],
                               CachePolicyConfig=cache_policy_config("x"))
    assert error_code(exc) == "IllegalUpdate"


def test_cache_policy_life_cycle(cf: Any) -> None:
    name = f"pol-{uuid.uuid4().hex[:8]}"
    created = cf.create_cache_policy(CachePolicyConfig=cache_policy_config(name))
    ident, etag = created["CachePolicy"]["Id"], created["ETag"]
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["Location"].endswith(f"/cache-policy/{ident}")
    with pytest.raises(ClientError) as dup:
        cf.create_cache_policy(CachePolicyConfig=cache_policy_config(name))
    assert error_code(dup) == "CachePolicyAlreadyExists"
    customs = cf.list_cache_policies(Type="custom")["CachePolicyList"]["Items"]
    assert ident in {i["CachePolicy"]["Id"] for i in customs}
    with pytest.raises(ClientError) as stale:
        cf.update_cache_policy(Id=ident, IfMatch="EOLDOLDOLDOLD0", CachePolicyConfig=cache_policy_config(name))
    assert error_code(stale) == "PreconditionFailed"
    updated = cf.update_cache_policy(Id=ident, IfMatch=etag, CachePolicyConfig=cache_policy_config(name, MaxTTL=7200))
    etag = updated["ETag"]
    assert updated["CachePolicy"]["CachePolicyConfig"]["MaxTTL"] == 7200
    dist, dist_etag = distribution_with(cf, CachePolicyId=ident)
    assert cf.list_distributions_by_cache_policy_id(CachePolicyId=ident)["DistributionIdList"]["Items"] == [dist]
    with pytest.raises(ClientError) as in_use:
        cf.delete_cache_policy(Id=ident, IfMatch=etag)
    assert error_code(in_use) == "CachePolicyInUse"
    cf.delete_distribution(Id=dist, IfMatch=dist_etag)
    cf.delete_cache_policy(Id=ident, IfMatch=etag)
    with pytest.raises(ClientError) as gone:
        cf.get_cache_policy(Id=ident)
    assert error_code(gone) == "NoSuchCachePolicy"


@pytest.mark.parametrize("overrides", [
    {"MinTTL": 100, "DefaultTTL": 10},
    {"Name": "Managed-Mine"},
    {"MinTTL": 0, "DefaultTTL": 0, "MaxTTL": 0},  # caching disabled with values in the key
])
def test_cache_policy_validation(cf: Any, overrides: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as exc:
        cf.create_cache_policy(CachePolicyConfig=cache_policy_config(f"bad-{uuid.uuid4().hex[:6]}", **overrides))
    assert error_code(exc) == "InvalidArgument"


def test_too_many_headers_in_a_cache_policy(cf: Any) -> None:
    config = cache_policy_config(f"many-{uuid.uuid4().hex[:6]}")
    config["ParametersInCacheKeyAndForwardedToOrigin"]["HeadersConfig"] = {
        "HeaderBehavior": "whitelist", "Headers": {"Quantity": 11, "Items": [f"h{i}" for i in range(11)]}}
    with pytest.raises(ClientError) as exc:
        cf.create_cache_policy(CachePolicyConfig=config)
    assert error_code(exc) == "TooManyHeadersInCachePolicy"


def test_origin_request_and_response_headers_policies(cf: Any) -> None:
    orp = cf.create_origin_request_policy(OriginRequestPolicyConfig={
        "Name": f"orp-{uuid.uuid4().hex[:8]}", "HeadersConfig": {"HeaderBehavior": "allViewer"},
        "CookiesConfig": {"CookieBehavior": "all"}, "QueryStringsConfig": {"QueryStringBehavior": "all"}})
    orp_id = orp["OriginRequestPolicy"]["Id"]
    assert cf.get_origin_request_policy_config(Id=orp_id)["OriginRequestPolicyConfig"]["HeadersConfig"] == {
        "HeaderBehavior": "allViewer"}
    rhp = cf.create_response_headers_policy(ResponseHeadersPolicyConfig={
        "Name": f"rhp-{uuid.uuid4().hex[:8]}",
        "CustomHeadersConfig": {"Quantity": 1, "Items": [{"Header": "X-Hello", "Value": "1", "Override": True}]},
        "SecurityHeadersConfig": {"FrameOptions": {"FrameOption": "DENY", "Override": True}}})
    rhp_id = rhp["ResponseHeadersPolicy"]["Id"]
    got = cf.get_response_headers_policy(Id=rhp_id)["ResponseHeadersPolicy"]["ResponseHeadersPolicyConfig"]
    assert got["CustomHeadersConfig"]["Items"][0]["Header"] == "X-Hello"
    dist, dist_etag = distribution_with(cf, CachePolicyId="658327ea-f89d-4fab-a63d-7e88639e58f6",
                                        OriginRequestPolicyId=orp_id, ResponseHeadersPolicyId=rhp_id)
    with pytest.raises(ClientError) as in_use:
        cf.delete_origin_request_policy(Id=orp_id, IfMatch=orp["ETag"])
    assert error_code(in_use) == "OriginRequestPolicyInUse"
    with pytest.raises(ClientError) as in_use:
        cf.delete_response_headers_policy(Id=rhp_id, IfMatch=rhp["ETag"])
    assert error_code(in_use) == "ResponseHeadersPolicyInUse"
    cf.delete_distribution(Id=dist, IfMatch=dist_etag)
    cf.delete_origin_request_policy(Id=orp_id, IfMatch=orp["ETag"])
    cf.delete_response_headers_policy(Id=rhp_id, IfMatch=rhp["ETag"])
    with pytest.raises(ClientError) as bad:
        cf.create_response_headers_policy(ResponseHeadersPolicyConfig={
            "Name": f"rhp-{uuid.uuid4().hex[:8]}",
            "SecurityHeadersConfig": {"FrameOptions": {"FrameOption": "ALLOW", "Override": True}}})
    assert error_code(bad) == "InvalidArgument"


def test_origin_access_control_life_cycle(cf: Any) -> None:
    name = f"oac-{uuid.uuid4().hex[:8]}"
    body = {"Name": name, "SigningProtocol": "sigv4", "SigningBehavior": "always",
            "OriginAccessControlOriginType": "s3"}
    created = cf.create_origin_access_control(OriginAccessControlConfig=body)
    ident, etag = created["OriginAccessControl"]["Id"], created["ETag"]
    with pytest.raises(ClientError) as dup:
        cf.create_origin_access_control(OriginAccessControlConfig=body)
    assert error_code(dup) == "OriginAccessControlAlreadyExists"
    listed = cf.list_origin_access_controls()["OriginAccessControlList"]["Items"]
    assert {"Id": ident, "Name": name, "Description": "", "SigningProtocol": "sigv4", "SigningBehavior": "always",
            "OriginAccessControlOriginType": "s3"} in listed
    etag = cf.update_origin_access_control(Id=ident, IfMatch=etag, OriginAccessControlConfig={
        **body, "SigningBehavior": "no-override"})["ETag"]
    assert cf.get_origin_access_control_config(Id=ident)["OriginAccessControlConfig"]["SigningBehavior"] == \
        "no-override"
    dist, dist_etag = distribution_with(cf, CachePolicyId="658327ea-f89d-4fab-a63d-7e88639e58f6",
                                        origin={"OriginAccessControlId": ident})
    with pytest.raises(ClientError) as in_use:
        cf.delete_origin_access_control(Id=ident, IfMatch=etag)
    assert error_code(in_use) == "OriginAccessControlInUse"
    cf.delete_distribution(Id=dist, IfMatch=dist_etag)
    cf.delete_origin_access_control(Id=ident, IfMatch=etag)
    with pytest.raises(ClientError) as gone:
        cf.get_origin_access_control(Id=ident)
    assert error_code(gone) == "NoSuchOriginAccessControl"
    with pytest.raises(ClientError) as bad:
        cf.create_origin_access_control(OriginAccessControlConfig={**body, "Name": name + "x",
                                                                   "SigningBehavior": "sometimes"})
    assert error_code(bad) == "InvalidArgument"


@contextmanager
def server(data: Path) -> Iterator[Any]:
    thread = ServerThread(load_config(env={}, overrides={"port": 0, "dns_port": 0, "edge_port": 0,
                                                         "data_dir": str(data)})).start()
    try:
        yield make_client(thread.endpoint_url, "cloudfront")
    finally:
        thread.stop()


def test_restart_keeps_distributions_policies_oacs_invalidations_and_tags(tmp_path: Path) -> None:
    with server(tmp_path) as cf:
        oac = cf.create_origin_access_control(OriginAccessControlConfig={
            "Name": "durable", "SigningProtocol": "sigv4", "SigningBehavior": "always",
            "OriginAccessControlOriginType": "s3"})["OriginAccessControl"]["Id"]
        policy = cf.create_cache_policy(CachePolicyConfig=cache_policy_config("durable"))["CachePolicy"]["Id"]
        created = cf.create_distribution_with_tags(DistributionConfigWithTags={
            "DistributionConfig": {
                "CallerReference": "durable", "Comment": "kept", "Enabled": True,
                "Origins": {"Quantity": 1, "Items": [{"Id": "s3", "DomainName": "b.s3.amazonaws.com",
                                                      "S3OriginConfig": {"OriginAccessIdentity": ""},
                                                      "OriginAccessControlId": oac}]},
                "DefaultCacheBehavior": {"TargetOriginId": "s3", "ViewerProtocolPolicy": "allow-all",
                                         "CachePolicyId": policy}},
            "Tags": {"Items": [{"Key": "k", "Value": "v"}]}})
        dist = created["Distribution"]
        inv = cf.create_invalidation(DistributionId=dist["Id"], InvalidationBatch={
            "Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": "r"})["Invalidation"]["Id"]
    with server(tmp_path) as cf:
        got = cf.get_distribution(Id=dist["Id"])
        assert got["ETag"] == created["ETag"]
        assert got["Distribution"]["Status"] == "Deployed"
        assert got["Distribution"]["DistributionConfig"] == dist["DistributionConfig"]
        assert cf.get_cache_policy(Id=policy)["CachePolicy"]["CachePolicyConfig"]["Name"] == "durable"
        assert cf.get_origin_access_control(Id=oac)["OriginAccessControl"]["OriginAccessControlConfig"]["Name"] == \
            "durable"
        assert cf.get_invalidation(DistributionId=dist["Id"], Id=inv)["Invalidation"]["Status"] == "Completed"
        assert cf.list_tags_for_resource(Resource=dist["ARN"])["Tags"]["Items"] == [{"Key": "k", "Value": "v"}]
