"""S3 CORS: Put/Get/DeleteBucketCors, preflight (OPTIONS) answers, and the CORS headers of actual requests.

botocore's model has no operation for a preflight: S3Service.route_unmodelled routes OPTIONS here; the gateway
asks `cors_headers` which CORS headers an S3 response to a request carrying an Origin header gets.
"""
from __future__ import annotations

from typing import Any

from aiohttp import web

from miniaws.core.context import RequestContext
from miniaws.services.base import operation
from miniaws.services.s3 import cors
from miniaws.services.s3.api_common import S3Base
from miniaws.services.s3.errors import BadRequest, CORSResponse, NoSuchCORSConfiguration


class CorsOperations(S3Base):
    @operation("PutBucketCors")
    def put_bucket_cors(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketCors.html"""
        bucket = self.bucket(ctx, params["Bucket"], params)
        bucket.config["cors"] = cors.check_rules(params.get("CORSConfiguration"))
        self.store.save_bucket(bucket)
        return {}

    @operation("GetBucketCors")
    def get_bucket_cors(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self.bucket(ctx, params["Bucket"], params)
        rules = bucket.config.get("cors")
        if not rules:
            raise NoSuchCORSConfiguration(BucketName=bucket.name)
        return {"CORSRules": rules}

    @operation("DeleteBucketCors")
    def delete_bucket_cors(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self.bucket(ctx, params["Bucket"], params)
        if bucket.config.pop("cors", None) is not None:
            self.store.save_bucket(bucket)
        return {}

    # -- requests without a botocore operation --------------------------------------------------
    @operation("OptionsObject")
    def preflight(self, ctx: RequestContext, params: dict[str, Any]) -> web.Response:
        """OPTIONS /bucket[/key]: a browser asks whether its cross-origin request would be allowed. Unauthenticated
        (browsers send no credentials with a preflight), answered from the bucket's CORS rules alone.
        https://docs.aws.amazon.com/AmazonS3/latest/API/RESTOPTIONSobject.html"""
        assert ctx.request is not None
        bucket_name = params["Bucket"]
        headers = ctx.request.headers
        origin = headers.get("Origin")
        if not origin:
            raise BadRequest("Insufficient information. Origin request header needed.")
        method = headers.get("Access-Control-Request-Method")
        if method not in cors.METHODS:
            raise BadRequest(f"Invalid Access-Control-Request-Method: {method if method else 'null'}")
        bucket = self.find_bucket(bucket_name)
        rules = bucket.config.get("cors")
        if not rules:
            raise CORSResponse("CORS is not enabled for this bucket.")
        requested = headers.get("Access-Control-Request-Headers")
        rule = cors.match_rule(rules, origin, method, requested)
        if rule is None:
            raise CORSResponse()
        return web.Response(status=200, headers=cors.response_headers(rule, origin, requested))

    def cors_headers(self, bucket_name: str | None, method: str, origin: str) -> dict[str, str]:
        """Access-Control-* headers for an actual (non-preflight) request from `origin`; none when no rule matches."""
        bucket = self.store.buckets.get(bucket_name) if bucket_name else None
        rules = bucket.config.get("cors") if bucket is not None else None
        if not rules:
            return {}
        rule = cors.match_rule(rules, origin, method)
        return cors.response_headers(rule, origin) if rule is not None else {}
