"""S3 static website hosting: Put/Get/DeleteBucketWebsite, and serving a bucket on its website endpoint.

The website endpoint is a Host name: `<bucket>.s3-website.localhost:<port>`, or path-style
`s3-website.localhost:<port>/<bucket>/…`, or the `s3-website[-.]<region>.amazonaws.com` forms. GET and HEAD only,
anonymous, HTML errors, index and error documents, redirects and routing rules; Route.website marks such requests.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from aiohttp import web

from miniaws.core.context import RequestContext
from miniaws.core.responses import Response, StreamedResponse
from miniaws.services.base import operation
from miniaws.services.s3 import body as bodies
from miniaws.services.s3 import website
from miniaws.services.s3.api_common import S3Base
from miniaws.services.s3.errors import AccessDenied, NoSuchWebsiteConfiguration
from miniaws.services.s3.models import Bucket, S3Object

_HTML = "text/html; charset=utf-8"


class WebsiteOperations(S3Base):
    @operation("PutBucketWebsite")
    def put_bucket_website(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketWebsite.html"""
        bucket = self.bucket(ctx, params["Bucket"], params)
        bucket.config["website"] = website.check_website(params.get("WebsiteConfiguration"))
        self.store.save_bucket(bucket)
        return {}

    @operation("GetBucketWebsite")
    def get_bucket_website(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self.bucket(ctx, params["Bucket"], params)
        configuration = bucket.config.get("website")
        if configuration is None:
            raise NoSuchWebsiteConfiguration(BucketName=bucket.name)
        return dict(configuration)

    @operation("DeleteBucketWebsite")
    def delete_bucket_website(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self.bucket(ctx, params["Bucket"], params)
        if bucket.config.pop("website", None) is not None:
            self.store.save_bucket(bucket)
        return {}

    # -- the website endpoint -------------------------------------------------------------------
    @operation("WebsiteRequest")
    async def serve_website(self, ctx: RequestContext, params: dict[str, Any]) -> Response:
        """GET/HEAD on the website endpoint (routed by S3Service.route_unmodelled)."""
        request = ctx.request
        assert request is not None
        name, key = params["Bucket"], unquote(params.get("Key", ""))
        if request.method not in ("GET", "HEAD"):
            return self._error_page(ctx, 405, "MethodNotAllowed", "The specified method is not allowed against "
                                    "this resource.", {"Method": request.method, "ResourceType": "OBJECT"})
        bucket = self.store.buckets.get(name)
        if bucket is None:
            return self._error_page(ctx, 404, "NoSuchBucket", "The specified bucket does not exist",
                                    {"BucketName": name})
        configuration = bucket.config.get("website")
        if configuration is None:
            return self._error_page(ctx, 404, "NoSuchWebsiteConfiguration", NoSuchWebsiteConfiguration.default_message,
                                    {"BucketName": name})
        scheme, host = ("https" if request.secure else "http"), request.headers.get("Host", "")
        target = website.redirect_all(configuration, key, scheme)
        if target is not None:
            return web.Response(status=301, headers={"Location": target})
        rule = website.routing_redirect(configuration, key, None, scheme, host)
        if rule is not None:
            return web.Response(status=rule[0], headers={"Location": rule[1]})
        suffix = configuration["IndexDocument"]["Suffix"]
        lookup = key + suffix if not key or key.endswith("/") else key
        obj, status = self._readable(ctx, bucket, lookup)
        if obj is not None:
            redirect = obj.content.get("WebsiteRedirectLocation")
            if redirect:
                return web.Response(status=301, headers={"Location": redirect})
            return await self._object(ctx, obj, 200)
        if status == 404 and key and not key.endswith("/") and self._readable(ctx, bucket, f"{key}/{suffix}")[0]:
            # a "folder" without its trailing slash: S3 redirects to the slash form, whose index it then serves
            return web.Response(status=302, headers={"Location": f"/{key}/"})
        rule = website.routing_redirect(configuration, key, status, scheme, host)
        if rule is not None:
            return web.Response(status=rule[0], headers={"Location": rule[1]})
        error_key = (configuration.get("ErrorDocument") or {}).get("Key")
        if error_key:
            document, _ = self._readable(ctx, bucket, error_key)
            if document is not None:
                return await self._object(ctx, document, status)  # the error document keeps the error's status
        if status == 403:
            return self._error_page(ctx, 403, "AccessDenied", "Access Denied", {})
        return self._error_page(ctx, 404, "NoSuchKey", "The specified key does not exist.", {"Key": lookup})

    def _readable(self, ctx: RequestContext, bucket: Bucket, key: str) -> tuple[S3Object | None, int]:
        """The current object at `key` if the caller may read it, else (None, 404 or 403)."""
        obj = bucket.objects.get(key)
        try:
            self.authorize(ctx, bucket, key=key, obj=obj, params={"Key": key}, action="s3:GetObject")
        except AccessDenied:
            return None, 403
        return (obj, 200) if obj is not None else (None, 404)

    async def _object(self, ctx: RequestContext, obj: S3Object, status: int) -> Response:
        assert ctx.request is not None
        headers = {"Content-Type": obj.content_type, "ETag": obj.etag, "Last-Modified": obj.last_modified_http}
        for member, header in (("CacheControl", "Cache-Control"), ("ContentDisposition", "Content-Disposition"),
                               ("ContentEncoding", "Content-Encoding"), ("ContentLanguage", "Content-Language"),
                               ("Expires", "Expires")):
            if member in obj.content:
                headers[header] = obj.content[member]
        headers.update({f"x-amz-meta-{k}": v for k, v in obj.metadata.items()})
        if ctx.request.method == "HEAD":
            return web.Response(status=status, headers={**headers, "Content-Length": str(obj.size)})
        small = bodies.read_small(self.blobs, obj.segments, 0, obj.size)
        if small is not None:
            return web.Response(status=status, headers=headers, body=small)
        stream = bodies.SegmentStream(self.blobs, obj.segments, 0, obj.size)
        return StreamedResponse(status, headers, obj.size, stream.chunks())

    @staticmethod
    def _error_page(ctx: RequestContext, status: int, code: str, message: str,
                    fields: dict[str, str]) -> web.Response:
        page = website.error_page(status, code, message, fields, ctx.request_id)
        if ctx.request is not None and ctx.request.method == "HEAD":
            return web.Response(status=status, headers={"Content-Type": _HTML})
        return web.Response(status=status, headers={"Content-Type": _HTML}, body=page.encode())
