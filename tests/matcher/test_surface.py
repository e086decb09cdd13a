"""The core's public surface (docs/core-api.md): what `service/`, `placement_cli/` and `benchmarks/` may import from
`matcher`, that the core imports no user-interface, web or database library, and that the surface is documented.

The rule: outside `matcher/` and `tests/`, code names `matcher` only as `import matcher` (then `matcher.X`) or
`from matcher import X`, with X in `matcher.__all__`; `benchmarks/` may also use `from matcher.peers import X`
with X in `matcher.peers.__all__`, the peer solvers it measures the engine against. Nothing else below `matcher`.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import matcher
import matcher.peers

ROOT = Path(__file__).resolve().parents[2]
SURFACE: dict[str, frozenset[str]] = {"matcher": frozenset(matcher.__all__)}
PEERS: dict[str, frozenset[str]] = {**SURFACE, "matcher.peers": frozenset(matcher.peers.__all__)}
ALLOWED: dict[str, dict[str, frozenset[str]]] = {"service": SURFACE, "placement_cli": SURFACE, "benchmarks": PEERS}
FORBIDDEN_IN_CORE = ("typer", "click", "rich", "fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "httpx")


def violations(source: str, allowed: dict[str, frozenset[str]], where: str = "<source>") -> list[str]:
    """Every use of `matcher` in `source` that the rule does not allow, as `file:line: what`."""
    found: list[str] = []
    tree = ast.parse(source)
    bound: dict[str, str] = {}  # local name -> the matcher module it stands for (`import matcher as m`)

    def bad(node: ast.AST, what: str) -> None:
        found.append(f"{where}:{getattr(node, 'lineno', 0)}: {what}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "matcher" or alias.name.startswith("matcher."):
                    if alias.name != "matcher":
                        bad(node, f"import {alias.name} (only `import matcher`)")
                    bound[alias.asname or "matcher"] = "matcher"
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            module = node.module
            if module != "matcher" and not module.startswith("matcher."):
                continue
            if module not in allowed:
                bad(node, f"from {module} import … (not a public module)")
                continue
            for alias in node.names:
                if alias.name not in allowed[module]:
                    bad(node, f"from {module} import {alias.name} (not in {module}.__all__)")
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            target = node.args[0].value
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            is_core = isinstance(target, str) and (target == "matcher" or target.startswith("matcher."))
            if name in ("import_module", "__import__") and is_core and target not in allowed:
                bad(node, f"{name}('{target}') (not a public module)")
    for node in ast.walk(tree):
        # `matcher.X` (and `matcher.X.Y`) on a name bound to matcher: X must be public.
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in bound
            and node.attr not in allowed[bound[node.value.id]]
        ):
            bad(node, f"{node.value.id}.{node.attr} (not in matcher.__all__)")
    return found


def test_the_rule_catches_every_way_of_reaching_below_the_surface() -> None:
    source = (
        "import matcher\n"
        "import matcher.io.reader\n"
        "from matcher.integrity import SUPERVISION_TOLERANCE\n"
        "from matcher import read, _private\n"
        "from matcher.peers import build_problem\n"
        "x = matcher.io\n"
        "y = matcher.read\n"
        "import importlib\n"
        "importlib.import_module('matcher.rules')\n"
    )
    found = violations(source, SURFACE)
    assert [line.split(": ", 1)[1] for line in found] == [
        "import matcher.io.reader (only `import matcher`)",
        "from matcher.integrity import … (not a public module)",
        "from matcher import _private (not in matcher.__all__)",
        "from matcher.peers import … (not a public module)",
        "import_module('matcher.rules') (not a public module)",
        "matcher.io (not in matcher.__all__)",
    ]
    assert violations("from matcher.peers import build_problem, pairs_for\n", PEERS) == []
    assert violations("from matcher.peers import rule_failures\n", PEERS) != []


@pytest.mark.parametrize("folder", sorted(ALLOWED))
def test_code_outside_the_core_uses_only_its_public_surface(folder: str) -> None:
    files = sorted((ROOT / folder).rglob("*.py"))
    assert files, f"no Python files under {folder}/"
    found: list[str] = []
    for path in files:
        found += violations(path.read_text(encoding="utf-8"), ALLOWED[folder], str(path.relative_to(ROOT)))
    assert found == []


def test_every_public_name_exists_and_is_documented() -> None:
    doc = (ROOT / "docs" / "core-api.md").read_text(encoding="utf-8")
    for module in (matcher, matcher.peers):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name} is in __all__ but not defined"
            assert re.search(rf"`{re.escape(name)}\b", doc), f"{module.__name__}.{name} is not in docs/core-api.md"


def test_the_core_imports_no_user_interface_web_or_database_library() -> None:
    """Every module of `matcher` imported in a fresh interpreter; none of them pulls in typer, rich, fastapi, …"""
    script = (
        "import importlib, json, pkgutil, sys\n"
        "import matcher\n"
        "for info in pkgutil.walk_packages(matcher.__path__, 'matcher.'):\n"
        "    importlib.import_module(info.name)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {list(FORBIDDEN_IN_CORE)!r})))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True)
    assert json.loads(result.stdout) == []
    assert not (ROOT / "matcher" / "cli.py").exists()


def test_the_command_line_is_one_app_composed_outside_the_core() -> None:
    """`placement` lists the core's commands and the service's; the core's part is left as it was defined."""
    from typer.testing import CliRunner

    from placement_cli import app, core_commands

    listed = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"}).output
    for command in (
        "check", "solve", "candidates", "suggest", "generate", "whatif", "fairness", "capacity-value", "serve", "user",
        "db",
    ):  # fmt: skip
        assert re.search(rf"│ {command}\b", listed), f"{command} is not listed:\n{listed}"
    core = {c.callback.__name__ for c in core_commands.app.registered_commands if c.callback}
    assert core == {"check", "solve", "candidates", "suggest", "generate", "whatif", "fairness", "capacity_value"}
    assert core_commands.app.registered_groups == []  # nothing added to it from outside
