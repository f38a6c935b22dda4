"""Real clients against a real `python -m miniaws` process: the AWS CLI v1 (`aws s3`, `aws s3api`) and curl.

One server per module; every CLI run gets a clean environment (empty config and credentials files) so the
host's AWS settings cannot leak in. Independent CLI runs are started together: each costs ~1 s of start-up.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config as BotoConfig

from tests.helpers.process import ServerProcess, start_server
from tests.helpers.awscli import aws_executable as _aws_executable

pytestmark = pytest.mark.subprocess

CURL = shutil.which("curl") or "/usr/bin/curl"
MIB = 1024 * 1024
#: the AWS CLI's default multipart_threshold and multipart_chunksize (8 MB)
CLI_CHUNK = 8 * MIB


# ------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    proc = start_server("--ephemeral")
    yield proc
    proc.terminate()
    assert proc.proc.stdout is not None
    proc.proc.stdout.close()


@pytest.fixture(scope="module")
def cli_env(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of every CLI run: only our endpoint and dummy keys, no host configuration."""
    home = tmp_path_factory.mktemp("aws-home")
    (home / "config").write_text("")
    (home / "credentials").write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "AWS_ENDPOINT_URL": server.endpoint_url,  # honoured by CLI v1 >= 1.29 (botocore's endpoint config)
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_PAGER": "",
        "HOME": str(home),
    })
    return env


@pytest.fixture(scope="module")
def s3(server: ServerProcess) -> Any:
    # s3v4: botocore would presign us-east-1 URLs with SigV2 otherwise
    return boto3.client("s3", endpoint_url=server.endpoint_url, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test",
                        config=BotoConfig(retries={"max_attempts": 1}, signature_version="s3v4"))


@pytest.fixture(scope="module")
def bucket(s3: Any) -> str:
    name = f"cli-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    return name


# -------------------------------------------------------------------------------------------- helpers
class Cli:
    """Runs `aws …` commands, several at once when they do not depend on each other."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env = env
        self.cwd = cwd
        self.exe = _aws_executable()

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([self.exe, *args], env=self.env, cwd=self.cwd, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def many(self, *commands: Sequence[str]) -> list[str]:
        """Run the commands concurrently; return each one's stdout, failing on a non-zero exit."""
        procs = [(cmd, self.start(*cmd)) for cmd in commands]
        outputs = []
        try:
            for cmd, proc in procs:
                out, err = proc.communicate(timeout=60)
                assert proc.returncode == 0, f"aws {' '.join(cmd)} exited {proc.returncode}:\n{out}\n{err}"
                outputs.append(out)
        finally:
            for _, proc in procs:  # after a failure, do not leave the others running
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate()
        return outputs

    def __call__(self, *args: str) -> str:
        return self.many(args)[0]

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--output", "json"))


@pytest.fixture
def aws(cli_env: dict[str, str], tmp_path: Path) -> Cli:
    return Cli(cli_env, tmp_path)


def curl(*args: str) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run([CURL, "-sS", *args], capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result


def _status_and_body(url: str, *extra: str) -> tuple[int, bytes, dict[str, str]]:
    """curl the URL, returning (status, body, lower-cased response headers)."""
    result = curl("-D", "-", *extra, url)
    head, _, body = result.stdout.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, body, headers


def _multipart_etag(data: bytes, part_size: int) -> str:
    digests = [hashlib.md5(data[i:i + part_size]).digest() for i in range(0, len(data), part_size)]
    return f'"{hashlib.md5(b"".join(digests)).hexdigest()}-{len(digests)}"'


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------------------------- AWS CLI: s3
def test_cli_honours_aws_endpoint_url_mb_and_ls(aws: Cli, s3: Any) -> None:
    name = f"cli-mb-{uuid.uuid4().hex[:12]}"
    assert aws("s3", "mb", f"s3://{name}").strip() == f"make_bucket: {name}"
    s3.head_bucket(Bucket=name)  # the CLI really talked to our server (AWS_ENDPOINT_URL, no --endpoint-url)
    listing = aws("s3", "ls")
    assert any(line.split()[-1] == name for line in listing.splitlines())


def test_cp_small_and_multipart_then_download(aws: Cli, s3: Any, bucket: str, tmp_path: Path) -> None:
    small = tmp_path / "hello.txt"
    small.write_bytes(b"hello from the aws cli\n" * 40)
    big = tmp_path / "big.bin"
    big_data = os.urandom(20 * MIB)
    big.write_bytes(big_data)
    aws.many(("s3", "cp", str(small), f"s3://{bucket}/cp/hello.txt"),
             ("s3", "cp", str(big), f"s3://{bucket}/cp/big.bin"))

    got = s3.get_object(Bucket=bucket, Key="cp/hello.txt")
    assert got["Body"].read() == small.read_bytes()
    assert got["ETag"] == f'"{hashlib.md5(small.read_bytes()).hexdigest()}"'
    assert got["ContentType"] == "text/plain"  # the CLI guesses it from the extension

    head = s3.head_object(Bucket=bucket, Key="cp/big.bin")
    assert head["ContentLength"] == len(big_data)
    # 20 MiB is above the CLI's 8 MiB threshold: uploaded as 8 + 8 + 4 MiB parts
    assert head["ETag"] == _multipart_etag(big_data, CLI_CHUNK)
    assert head["ETag"].endswith('-3"')

    down = tmp_path / "down.bin"
    aws("s3", "cp", f"s3://{bucket}/cp/big.bin", str(down))  # ranged GETs, in parallel
    assert hashlib.sha256(down.read_bytes()).digest() == hashlib.sha256(big_data).digest()


def test_sync_tree_up_and_back_ls_and_rm(aws: Cli, s3: Any, bucket: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    files = {
        "index.html": b"<h1>shop</h1>",
        "empty.txt": b"",
        "img/logo one.png": os.urandom(3000),          # a space in the key
        "img/deep/nested/ünïcode.bin": os.urandom(70 * 1024),  # non-ASCII, above the inline limit
        "css/site.css": b"body{}" * 100,
    }
    for rel, data in files.items():
        path = src / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    prefix = f"sync-{uuid.uuid4().hex[:8]}"
    out = aws("s3", "sync", str(src), f"s3://{bucket}/{prefix}/")
    assert out.count("upload:") == len(files)

    back = tmp_path / "back"
    _, listing, top = aws.many(("s3", "sync", f"s3://{bucket}/{prefix}/", str(back)),
                               ("s3", "ls", "--recursive", f"s3://{bucket}/{prefix}/"),
                               ("s3", "ls", f"s3://{bucket}/{prefix}/"))
    assert _tree(back) == files
    listed_keys = {line.split(maxsplit=3)[3] for line in listing.splitlines()}
    assert listed_keys == {f"{prefix}/{rel}" for rel in files}
    # one level: the files at the top and the common prefixes as "PRE name/"
    assert "PRE img/" in top and "PRE css/" in top and "index.html" in top and "logo one.png" not in top

    removed = aws("s3", "rm", "--recursive", f"s3://{bucket}/{prefix}/")
    assert removed.count("delete:") == len(files)
    assert s3.list_objects_v2(Bucket=bucket, Prefix=prefix + "/")["KeyCount"] == 0


def test_cli_presign_then_curl(aws: Cli, s3: Any, bucket: str, tmp_path: Path) -> None:
    data = os.urandom(5000)
    s3.put_object(Bucket=bucket, Key="presign/file.bin", Body=data)
    # CLI v1 presigns with SigV2 unless the profile asks for s3v4; check both forms.
    v4_config = tmp_path / "config-s3v4"
    v4_config.write_text("[default]\ns3 =\n    signature_version = s3v4\n")
    v4 = Cli({**aws.env, "AWS_CONFIG_FILE": str(v4_config)}, aws.cwd)
    target = f"s3://{bucket}/presign/file.bin"
    v2_proc = aws.start("s3", "presign", target, "--expires-in", "300")
    v4_url = v4("s3", "presign", target, "--expires-in", "300").strip()
    v2_out, v2_err = v2_proc.communicate(timeout=60)
    assert v2_proc.returncode == 0, v2_err
    v2_url = v2_out.strip()
    assert "AWSAccessKeyId=test" in v2_url and "Signature=" in v2_url
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in v4_url and "X-Amz-Expires=300" in v4_url
    for url in (v2_url, v4_url):
        assert url.startswith(f"{s3.meta.endpoint_url}/{bucket}/presign/file.bin?")
        status, body, _ = _status_and_body(url)
        assert status == 200 and body == data


# ------------------------------------------------------------------------------------- AWS CLI: s3api
def test_s3api_put_get_head_list_with_query(aws: Cli, bucket: str, tmp_path: Path) -> None:
    body = tmp_path / "doc.json"
    body.write_bytes(b'{"sku": 42}')
    etag = f'"{hashlib.md5(body.read_bytes()).hexdigest()}"'
    put = aws.json("s3api", "put-object", "--bucket", bucket, "--key", "api/doc.json", "--body", str(body),
                   "--content-type", "application/json", "--metadata", "team=checkout,build=7")
    assert put["ETag"] == etag

    out = tmp_path / "out.json"
    got, head, keys = aws.many(
        ("s3api", "get-object", "--bucket", bucket, "--key", "api/doc.json", str(out), "--output", "json"),
        ("s3api", "head-object", "--bucket", bucket, "--key", "api/doc.json", "--output", "json",
         "--query", "{len: ContentLength, type: ContentType, meta: Metadata, etag: ETag}"),
        ("s3api", "list-objects-v2", "--bucket", bucket, "--prefix", "api/", "--output", "json",
         "--query", "Contents[].[Key, Size]"))
    got_json = json.loads(got)
    assert got_json["ContentLength"] == 11 and got_json["ETag"] == etag
    assert got_json["Metadata"] == {"team": "checkout", "build": "7"}
    assert out.read_bytes() == body.read_bytes()
    assert json.loads(head) == {"len": 11, "type": "application/json",
                                "meta": {"team": "checkout", "build": "7"}, "etag": etag}
    assert json.loads(keys) == [["api/doc.json", 11]]


# ----------------------------------------------------------------------------------------------- curl
def test_curl_plain_unsigned_get(s3: Any, bucket: str, server: ServerProcess) -> None:
    s3.put_object(Bucket=bucket, Key="curl/plain.txt", Body=b"no signature needed", ContentType="text/plain")
    status, body, headers = _status_and_body(f"{server.endpoint_url}/{bucket}/curl/plain.txt")
    assert status == 200 and body == b"no signature needed"
    assert headers["content-type"] == "text/plain" and headers["content-length"] == "19"
    assert headers["etag"] == f'"{hashlib.md5(body).hexdigest()}"'


def test_curl_presigned_put_then_get(s3: Any, bucket: str, tmp_path: Path) -> None:
    data = os.urandom(2 * MIB)  # large enough for curl to send Expect: 100-continue first
    src = tmp_path / "upload.bin"
    src.write_bytes(data)
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "curl/uploaded.bin"},
                                        ExpiresIn=300)
    assert "X-Amz-Signature=" in put_url
    result = curl("-T", str(src), "-w", "%{http_code}", "-o", str(tmp_path / "put-response"), put_url)
    assert result.stdout == b"200", (tmp_path / "put-response").read_bytes()
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "curl/uploaded.bin"},
                                        ExpiresIn=300)
    status, body, headers = _status_and_body(get_url)
    assert status == 200 and body == data
    assert headers["etag"] == f'"{hashlib.md5(data).hexdigest()}"'


def test_curl_range_request(s3: Any, bucket: str, server: ServerProcess) -> None:
    data = bytes(range(256)) * 4
    s3.put_object(Bucket=bucket, Key="curl/range.bin", Body=data)
    status, body, headers = _status_and_body(f"{server.endpoint_url}/{bucket}/curl/range.bin", "-r", "0-9")
    assert status == 206
    assert body == data[:10]
    assert headers["content-range"] == f"bytes 0-9/{len(data)}"
    assert headers["content-length"] == "10"


def test_curl_head_missing_key_is_404_without_body(bucket: str, server: ServerProcess) -> None:
    url = f"{server.endpoint_url}/{bucket}/curl/missing"
    result = curl("-I", "-o", "/dev/null", "-w", "%{http_code}", url)
    assert result.stdout == b"404"
    # curl does not read a body after HEAD; a raw socket shows there is none on the wire
    parts = urlsplit(server.endpoint_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(f"HEAD /{bucket}/curl/missing HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                     "Connection: close\r\n\r\n".encode())
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, sep, rest = raw.partition(b"\r\n\r\n")
    assert sep and head.startswith(b"HTTP/1.1 404")
    assert rest == b""


def test_curl_error_body_has_s3_xml_shape(bucket: str, server: ServerProcess) -> None:
    status, body, headers = _status_and_body(f"{server.endpoint_url}/{bucket}/curl/nope.txt")
    assert status == 404
    assert "xml" in headers["content-type"]
    root = ET.fromstring(body)
    assert root.tag == "Error"
    fields = {child.tag: child.text for child in root}
    assert fields["Code"] == "NoSuchKey"
    assert fields["Message"]
    assert fields["Key"] == "curl/nope.txt"
    assert fields["RequestId"] and fields["RequestId"] == headers["x-amz-request-id"]

    status, body, _ = _status_and_body(f"{server.endpoint_url}/no-such-bucket-{uuid.uuid4().hex[:8]}/k")
    assert status == 404
    assert ET.fromstring(body).findtext("Code") == "NoSuchBucket"
