"""Architecture boundaries, checked by import-linter's contracts in pyproject.toml."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# A string that is a statement (a query, or the head of one), or a text() construct: SQL text.
SQL = re.compile(
    r"^\s*(SELECT|INSERT\s+INTO|UPDATE\s+[\w.]+\s+(AS\s+\w+\s+)?SET|DELETE\s+FROM"
    r"|WITH\s+\w+\s+AS\s*\(|ON\s+CONFLICT)\b",
    re.IGNORECASE | re.MULTILINE,
)
# Where SQL text may live: queries in repository or sql modules; models and migrations hold DDL.
SQL_HOMES = ("repository.py", "sql.py", "models.py")


def test_import_contracts_hold() -> None:
    linter = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(linter)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Every contract in pyproject.toml was checked, not only the ones known when this was written.
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert f"Contracts: {len(declared['contracts'])} kept, 0 broken" in result.stdout


def _sql_text_names(tree: ast.AST) -> set[str]:
    """The names SQLAlchemy's text() goes by in a module (a message catalogue's text() is not)."""
    return {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy")
        for alias in node.names
        if alias.name == "text"
    }


def _sql_lines(path: Path) -> list[int]:
    found = []
    tree = ast.parse(path.read_text(), filename=str(path))
    sql_text = _sql_text_names(tree)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in sql_text
        ) or (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and SQL.search(node.value)
        ):
            found.append(node.lineno)
    return found


def test_sql_text_lives_only_in_repository_and_sql_modules() -> None:
    stray = {
        str(path.relative_to(ROOT)): lines
        for path in sorted((ROOT / "services").rglob("*.py"))
        if "migrations" not in path.parts and path.name not in SQL_HOMES
        for lines in [_sql_lines(path)]
        if lines
    }
    assert stray == {}


def test_the_sql_check_sees_a_query_and_a_text_construct() -> None:
    sample = ROOT / "tests" / "metrics" / "test_restatement.py"  # builds its own statements
    assert _sql_lines(sample)
