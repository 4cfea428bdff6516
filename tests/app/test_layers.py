"""`app.py` is the top: it starts things and nothing imports it. The app is built in
`web/server.py`, below both `app.py` and `web/workers.py` (which once imported each other)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at its top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def test_no_module_of_the_web_package_imports_app_py() -> None:
    importers = sorted(p.name for p in (ROOT / "web").glob("*.py") if "app" in imported_modules(p))
    assert importers == [], f"these import app.py, which imports them: {importers}"


def test_building_the_app_needs_neither_app_py_nor_the_supervisor() -> None:
    code = "import sys, web.server; print(sorted(m for m in ('app', 'web.workers') if m in sys.modules))"
    shown = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == "[]"
