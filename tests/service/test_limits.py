"""The service's limits (issue 14, item 3) with small configured values: a body over the limit is 413 whether it
declares its length or is sent chunked, and nothing is written; an import over a row, column or cell limit is 422
naming file, row and column."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.db import models as db
from service.db.engine import transaction
from service.imports.pool import ImportPool
from tests.service.conftest import Service, make_settings

API = "/api/v1"
SLOT = {
    "id": "bake",
    "site_id": "hantverk",
    "activity": "bakery",
    "seats": 2,
    "min_hours": 5,
    "max_hours": 20,
    "days": ["mon"],
}


@pytest.fixture
def small(
    service: Service, database_url: str, tmp_path: Path, import_pool: ImportPool
) -> Iterator[tuple[TestClient, Service]]:
    """The app with a body limit of 1 KB, uploads of 4 KB, and imports of 3 rows, 20 columns, 30-character cells."""
    settings = make_settings(
        database_url,
        tmp_path,
        max_body_bytes=1024,
        max_upload_bytes=4096,
        max_import_rows=3,
        max_import_columns=20,
        max_import_cell_chars=30,
        max_workbook_bytes=100_000,
    )
    with TestClient(create_app(settings, import_pool=import_pool)) as client:
        yield client, service


def slot_count(service: Service) -> int:
    with transaction(service.factory) as session:
        return session.query(db.Slot).count()


def assert_413(response: Any) -> dict[str, Any]:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 413 and "larger than 1,024 bytes" in body["detail"]
    return body


def test_a_small_body_passes(small: tuple[TestClient, Service]) -> None:
    client, service = small
    response = client.post(f"{API}/slots", json=SLOT, headers=service.auth("coordinator"))
    assert response.status_code == 201, response.text


def test_a_declared_body_over_the_limit_is_413_and_writes_nothing(small: tuple[TestClient, Service]) -> None:
    client, service = small
    before = slot_count(service)
    body = {**SLOT, "activity": "b" * 2000}
    assert_413(client.post(f"{API}/slots", json=body, headers=service.auth("coordinator")))
    assert slot_count(service) == before


def test_a_chunked_body_over_the_limit_is_413(small: tuple[TestClient, Service]) -> None:
    client, service = small
    before = slot_count(service)
    data = json.dumps({**SLOT, "supports": ["x" * 100] * 50}).encode()

    def chunks() -> Iterator[bytes]:  # no Content-Length: the body is counted as it arrives
        for i in range(0, len(data), 100):
            yield data[i : i + 100]

    headers = {**service.auth("coordinator"), "Content-Type": "application/json"}
    response = client.post(f"{API}/slots", content=chunks(), headers=headers)
    assert_413(response)
    assert slot_count(service) == before


def upload(client: TestClient, service: Service, files: Any) -> Any:
    return client.post(f"{API}/imports", files=files, headers=service.auth("coordinator"))


def problems(response: Any) -> list[tuple[str, int, str, str]]:
    assert response.status_code == 422, response.text
    return [(p["file"], p["row"], p["column"], p["message"]) for p in response.json()["problems"]]


def test_an_upload_over_its_limit_is_413_even_chunked(small: tuple[TestClient, Service]) -> None:
    client, service = small
    response = upload(client, service, [("files", ("slots.csv", b"x" * 5000, "text/csv"))])
    assert response.status_code == 413 and response.json()["limit_bytes"] == 4096
    boundary = "b0undary"
    part = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="slots.csv"\r\n\r\n'.encode()
        + b"x" * 5000
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {**service.auth("coordinator"), "Content-Type": f"multipart/form-data; boundary={boundary}"}
    response = client.post(f"{API}/imports", content=iter([part[:2000], part[2000:]]), headers=headers)
    assert response.status_code == 413, response.text


SLOTS_HEADER = "slot_id,site_id,activity,seats,min_hours,max_hours,days"


def test_an_import_with_too_many_columns_is_422_at_the_header(small: tuple[TestClient, Service]) -> None:
    client, service = small
    header = ",".join(f"c{i}" for i in range(25))
    [(file, row, column, message)] = problems(upload(client, service, [("files", ("slots.csv", header.encode()))]))
    assert (file, row, column) == ("slots.csv", 1, "")
    assert "25 columns; at most 20" in message


def test_an_import_with_too_many_rows_is_422(small: tuple[TestClient, Service]) -> None:
    client, service = small
    rows = "\n".join(f"s{i},hantverk,bakery,1,5,20,mon" for i in range(5))
    text = f"{SLOTS_HEADER}\n{rows}\n".encode()
    [(file, row, _, message)] = problems(upload(client, service, [("files", ("slots.csv", text))]))
    assert (file, row) == ("slots.csv", 5) and "more than 3 rows" in message


def test_an_import_with_a_long_cell_names_file_row_and_column(small: tuple[TestClient, Service]) -> None:
    client, service = small
    text = f"{SLOTS_HEADER}\ns1,hantverk,{'b' * 31},1,5,20,mon\n".encode()
    [(file, row, column, message)] = problems(upload(client, service, [("files", ("slots.csv", text))]))
    assert (file, row, column) == ("slots.csv", 2, "activity")
    assert "31 characters; at most 30" in message


def test_a_workbook_too_large_unzipped_is_422_before_it_is_opened(small: tuple[TestClient, Service]) -> None:
    import io
    import zipfile

    client, service = small
    book = io.BytesIO()
    with zipfile.ZipFile(book, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", "<worksheet>" + " " * 200_000 + "</worksheet>")
    assert len(book.getvalue()) < 4096  # within the upload limit: only its unzipped size is over
    files = [("files", ("book.xlsx", book.getvalue()))]
    [(file, row, _, message)] = problems(upload(client, service, files))
    assert (file, row) == ("book.xlsx", 0) and "larger than 100,000 bytes once unzipped" in message
