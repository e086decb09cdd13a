"""The service's layers, checked on the source: a router speaks HTTP and leaves the database to its service.

The rule (docs/architecture.md, "Direction of imports"), for every `service/<feature>/router.py`:
1. it imports nothing from `sqlalchemy`, `service.db.engine`, `service.access`, a `repository` module, or
   `service.pagination.fetch_page` (the helpers that run queries);
2. it calls no method of a `session` (the request's session is only passed on to the feature's service);
3. it neither constructs a mapped class of `service.db.models` (`db.Placement(...)`) nor reaches into one
   (`db.Placement.slot_id`, the start of every query expression). Naming one as a type (`-> db.Placement`) and
   using the enums and constants (`db.Role.coach`, `db.MAX_INT`) is allowed.
And every `service/<feature>/service.py` and `repository.py` imports nothing from `fastapi` or `starlette`: rules and
queries do not know they are called over HTTP (the CLI and the solve worker call them too).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from service.db import models

SERVICE = Path(__file__).resolve().parents[2] / "service"
ROUTERS = sorted(SERVICE.glob("*/router.py"))
MODELS = "service.db.models"
FORBIDDEN_MODULES = ("sqlalchemy", "service.db.engine", "service.access")
FORBIDDEN_NAMES = {("service.pagination", "fetch_page")}
MAPPED = {
    name
    for name, value in vars(models).items()
    if isinstance(value, type) and issubclass(value, models.Base) and value is not models.Base
}


def _forbidden_module(module: str) -> bool:
    return any(module == m or module.startswith(m + ".") for m in FORBIDDEN_MODULES) or module.endswith(".repository")


def violations(source: str, filename: str = "router.py") -> list[str]:
    """Every breach of the rule in one router's source, as `file:line: what`."""
    tree = ast.parse(source, filename)
    found: list[str] = []
    model_modules: set[str] = set()  # names bound to service.db.models (`db`)
    mapped_names: set[str] = set()  # mapped classes imported by name (`from service.db.models import Placement`)

    def breach(node: ast.AST, what: str) -> None:
        found.append(f"{filename}:{getattr(node, 'lineno', 0)}: {what}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _forbidden_module(alias.name):
                    breach(node, f"imports {alias.name}")
                if alias.name == MODELS:
                    model_modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            for alias in node.names:
                full = f"{module}.{alias.name}"
                if _forbidden_module(module) or _forbidden_module(full) or (module, alias.name) in FORBIDDEN_NAMES:
                    breach(node, f"imports {alias.name} from {module}")
                if full == MODELS:
                    model_modules.add(alias.asname or alias.name)
                if module == MODELS and alias.name in MAPPED:
                    mapped_names.add(alias.asname or alias.name)

    def mapped_class(node: ast.AST) -> str | None:
        """The mapped class `node` names (`db.Placement` or an imported `Placement`), else None."""
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in model_modules
            and node.attr in MAPPED
        ):
            return node.attr
        if isinstance(node, ast.Name) and node.id in mapped_names:
            return node.id
        return None

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "session":
                breach(node, f"calls session.{func.attr}()")
            if (name := mapped_class(func)) is not None:
                breach(node, f"constructs {name}")
        elif isinstance(node, ast.Attribute) and (name := mapped_class(node.value)) is not None:
            breach(node, f"uses {name}.{node.attr}")
    return sorted(set(found))


def test_every_feature_has_a_router_checked() -> None:
    features = {p.parent.name for p in ROUTERS}
    assert {
        "audit",
        "catalogue",
        "imports",
        "participants",
        "placements",
        "plans",
        "reports",
        "suggestions",
    } <= features


@pytest.mark.parametrize("router", ROUTERS, ids=lambda p: p.parent.name)
def test_router_leaves_the_database_to_its_service(router: Path) -> None:
    assert violations(router.read_text(encoding="utf-8"), f"service/{router.parent.name}/router.py") == []


BELOW_HTTP = sorted([*SERVICE.glob("*/service.py"), *SERVICE.glob("*/repository.py")])


def http_imports(source: str, filename: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        found += [
            f"{filename}:{node.lineno}: imports {n}" for n in names if n.split(".")[0] in ("fastapi", "starlette")
        ]
    return found


@pytest.mark.parametrize("module", BELOW_HTTP, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_services_and_repositories_do_not_speak_http(module: Path) -> None:
    assert http_imports(module.read_text(encoding="utf-8"), f"{module.parent.name}/{module.name}") == []


def test_the_check_finds_http_below_the_router() -> None:
    assert http_imports("from fastapi import Request\nimport starlette.responses\n", "x.py") == [
        "x.py:1: imports fastapi",
        "x.py:2: imports starlette.responses",
    ]


BAD_ROUTER = """
from sqlalchemy import select
from service.db import models as db
from service.catalogue import repository as repo
from service.pagination import Page, fetch_page


def list_slots(session, user) -> list[db.Slot]:
    rows = session.scalars(select(db.Slot).where(db.Slot.site_id == "S1"))
    session.add(db.Placement(participant_id="P1", slot_id="S1"))
    return list(rows)
"""


def test_the_check_finds_sql_in_a_router() -> None:
    """The check can fail: a router with a select(), a session call and a model built in place is refused."""
    found = violations(BAD_ROUTER)
    assert any("imports select from sqlalchemy" in v for v in found)
    assert any("imports repository from service.catalogue" in v for v in found)
    assert any("imports fetch_page from service.pagination" in v for v in found)
    assert any("calls session.scalars()" in v for v in found)
    assert any("calls session.add()" in v for v in found)
    assert any("uses Slot.site_id" in v for v in found)
    assert any("constructs Placement" in v for v in found)
    # Naming a mapped class as a type and using enums and constants is allowed.
    assert (
        violations("from service.db import models as db\ndef f() -> db.Slot:\n    return db.Role.coach, db.MAX_INT\n")
        == []
    )
