"""Where report files live: an S3-API bucket (AWS S3, or Supabase Storage's S3 endpoint) when
REPORTS_S3_BUCKET is set, else a local folder (REPORTS_LOCAL_DIR). Keys are the same in both:
`<prefix>/<organization>/<kind>/<period code>/report.<format>`. Writes are whole-object puts, so a rerun simply
overwrites a half-written file; the sha256 recorded in the report row is checked on every read."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any
from uuid import UUID

from shared.core import errors
from shared.report import settings as report_settings


def key(org_id: UUID, kind: str, code: str, fmt: str) -> str:
    prefix = report_settings.get().reports_s3_prefix.strip("/")
    return f"{prefix}/{org_id}/{kind}/{code}/report.{fmt}"


def _client() -> Any:
    import boto3

    s = report_settings.get()
    secret = s.reports_s3_secret_access_key.get_secret_value() if s.reports_s3_secret_access_key else None
    from botocore.config import Config

    # Supabase Storage (and most S3-compatible services) need path-style URLs: https://host/bucket/key.
    style = "path" if s.reports_s3_endpoint_url else "auto"
    return boto3.client(
        "s3",
        endpoint_url=s.reports_s3_endpoint_url,
        region_name=s.reports_s3_region,
        aws_access_key_id=s.reports_s3_access_key_id,
        aws_secret_access_key=secret,
        config=Config(s3={"addressing_style": style}, retries={"max_attempts": 5, "mode": "standard"}),
    )


def _local(key_: str) -> Path:
    root = Path(report_settings.get().reports_local_dir).resolve()
    path = (root / key_).resolve()
    if root not in path.parents:
        raise errors.InvalidInput(f"report key {key_!r} escapes the report folder")
    return path


def sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def put(key_: str, body: bytes, content_type: str) -> str:
    """Stores the bytes under the key; returns their sha256 (also stored as object metadata on S3)."""
    digest = sha256(body)
    bucket = report_settings.get().reports_s3_bucket
    if bucket:
        _client().put_object(Bucket=bucket, Key=key_, Body=body, ContentType=content_type, Metadata={"sha256": digest})
    else:
        path = _local(key_)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(body)
        tmp.replace(path)  # atomic: a reader never sees half a file
    return digest


def get(key_: str, expected_sha256: str | None = None) -> bytes:
    """The stored bytes; NotFound when missing, PipelineError when they do not match the recorded checksum."""
    bucket = report_settings.get().reports_s3_bucket
    if bucket:
        client = _client()
        try:
            body: bytes = client.get_object(Bucket=bucket, Key=key_)["Body"].read()
        except client.exceptions.NoSuchKey:
            raise errors.NotFound(f"report file {key_} is not in bucket {bucket}") from None
    else:
        path = _local(key_)
        if not path.exists():
            raise errors.NotFound(f"report file {key_} is not in {report_settings.get().reports_local_dir}")
        body = path.read_bytes()
    if expected_sha256 is not None and sha256(body) != expected_sha256:
        raise errors.PipelineError(f"report file {key_} does not match its recorded sha256 checksum")
    return body
