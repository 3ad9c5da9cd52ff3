"""The test suite's own shape: a test module imports no other test module (what several share
lives in conftest.py, tests/pages.py, tests/worlds.py, tests/factories.py and the like), so
that each test module can be read, run and changed on its own."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def imports_of_test_modules(source: str, path: Path) -> list[tuple[int, str]]:
    """(line, module) for each import in `source`, nested ones too, that reaches a test module
    of this package; relative imports are resolved as if `source` were at `path`."""
    package = list(path.relative_to(TESTS.parent).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(ast.parse(source, str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            # `from tests import test_x` names a module; `from tests.x import y` a name.
            names = [module, *(f"{module}.{alias.name}" for alias in node.names)]
        else:
            continue
        reached = [name for name in names if name.split(".")[0] == "tests"
                   and any(part.startswith("test_") for part in name.split("."))]
        if reached:
            found.append((node.lineno, reached[0]))
    return found


def test_no_test_module_imports_another_test_module():
    found = [f"{path.relative_to(TESTS.parent)}:{line} imports {module}"
             for path in sorted(TESTS.rglob("test_*.py"))
             for line, module in imports_of_test_modules(path.read_text(), path)]
    assert found == []


def test_the_check_sees_every_way_of_importing_a_test_module():
    source = ("import tests.test_pages\n"
              "from tests.test_pages import sign_in\n"
              "from tests import test_pages\n"
              "from tests.browser.test_sign_in import x\n"
              "from . import test_leads\n"
              "from .test_leads import y\n"
              "def f():\n"
              "    from tests.test_importing import xlsx\n"
              "from tests.pages import sign_in\n"
              "from tests import factories, worlds\n"
              "import tests.conftest\n"
              "from .conftest import shown\n"
              "from crm.test_data import z\n")
    found = imports_of_test_modules(source, TESTS / "browser" / "test_example.py")
    assert found == [(1, "tests.test_pages"), (2, "tests.test_pages"),
                     (3, "tests.test_pages"), (4, "tests.browser.test_sign_in"),
                     (5, "tests.browser.test_leads"), (6, "tests.browser.test_leads"),
                     (8, "tests.test_importing")]
