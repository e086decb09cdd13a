"""Value types the routers and request bodies share, strict where pydantic's lax parsing would accept what the
published schema does not: a day is `YYYY-MM-DD` only (pydantic reads `0` or `"0"` as 1970-01-01)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator

ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def iso_day(value: Any) -> Any:
    """`value` unchanged when it is a date or a `YYYY-MM-DD` string (the format the schema publishes)."""
    if isinstance(value, date) or (isinstance(value, str) and ISO_DAY.fullmatch(value)):
        return value
    raise ValueError("a day is written YYYY-MM-DD")


Day = Annotated[date, BeforeValidator(iso_day)]
