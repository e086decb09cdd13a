"""The tests' Redis queues: each test gets a queue of its own on the test Redis (PLACEMENT_TEST_REDIS_URL, database
15 by default), removed with every job it held afterwards; a test is skipped when Redis cannot be reached."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

REDIS_URL = os.environ.get("PLACEMENT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@contextmanager
def fresh_queue(prefix: str) -> Iterator[tuple[Any, Any]]:
    """(connection, queue) for a queue named `<prefix>-<random>`; skips the test without Redis."""
    redis = pytest.importorskip("redis")
    from rq import Queue

    connection = redis.Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except redis.exceptions.RedisError as exc:
        pytest.skip(f"Redis at {REDIS_URL} is not reachable: {exc}")
    queue = Queue(f"{prefix}-{uuid.uuid4().hex[:8]}", connection=connection)
    try:
        yield connection, queue
    finally:
        for registry in (queue.finished_job_registry, queue.failed_job_registry, queue.started_job_registry):
            for job_id in registry.get_job_ids():
                registry.remove(job_id, delete_job=True)
        queue.empty()
        queue.delete(delete_jobs=True)
        connection.close()
