"""The layers of docs/architecture.md: function-level imports only where the rule allows them.

import-linter (`make lint`, pyproject.toml) checks that no layer imports a
higher one and that an app's modules form no cycle. This test keeps the one
escape hatch narrow: an import inside a function is allowed only in a task's
body (tasks import the service they run) and in AppConfig.ready() (models
are loaded by then).
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("pairing_admin", "programs", "invitations", "pairing")


def _nested_project_imports(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for func in ast.walk(tree):
        if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(func):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            if any(name.split(".")[0] in PACKAGES for name in names):
                yield func.name, node.lineno


def _allowed(path: Path, function: str) -> bool:
    return path.name == "tasks.py" or (path.name == "apps.py" and function == "ready")


def test_imports_inside_functions_only_in_task_bodies_and_ready():
    offenders = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for function, line in _nested_project_imports(path):
                if not _allowed(path, function):
                    offenders.append(f"{path.relative_to(ROOT)}:{line} in {function}()")
    assert offenders == [], "imports inside functions dodge a cycle: " + ", ".join(offenders)


def test_tests_share_helpers_through_tests_support_only():
    """No test module imports another test module or a conftest: shared helpers live in tests/support/."""
    offenders = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                last = name.rsplit(".", 1)[-1]
                if name.startswith("tests.") and (last.startswith("test_") or last == "conftest"):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {name}")
    assert offenders == [], ", ".join(offenders)
