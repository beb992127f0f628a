"""pytest fixtures around tests.support.servers (registered by tests/conftest.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from support.servers import S3Server, start_s3


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    # Credentials and region for every client the tests make; nothing may reach real AWS.
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        os.environ.setdefault(key, value)
    yield from start_s3()


@pytest.fixture
def s3(s3_server: S3Server) -> S3Server:
    s3_server.log.reset(latency_ms=0)
    return s3_server
