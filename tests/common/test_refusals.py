"""One refusal base: every error the product raises to tell a person why it will not do
something derives from `crm.common.errors.Refusal`, and pages show a refusal while letting anything
else fail, so a bug is never dressed up as a red message."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from streamlit.testing.v1 import AppTest

import crm
from crm.common.errors import Refusal
from crm.storage.db import DatabaseError
from crm.ui import text

# Errors that are not refusals of a person's request, and why.
NOT_REFUSALS = {
    "crm.cli.CommandError": "the command line's own usage line, shown by its main()",
    "crm.common.config.SharedSecretMissing": "a server started without its shared secrets",
    "crm.mailing.transport.DeliveryError": "the mail server refused one message; recorded "
                                            "against that recipient, not shown as a refusal",
}


def _error_classes() -> dict[str, type[BaseException]]:
    found = {}
    for module in pkgutil.walk_packages(crm.__path__, "crm."):
        if module.name.startswith("crm.ui") or module.name.endswith("__main__"):
            continue
        loaded = importlib.import_module(module.name)
        for name, value in vars(loaded).items():
            if (inspect.isclass(value) and issubclass(value, BaseException)
                    and value.__module__ == module.name and not name.startswith("_")):
                found[f"{module.name}.{name}"] = value
    return found


def test_every_domain_error_is_a_refusal():
    errors = _error_classes()
    assert len(errors) >= 15  # the walk found the domain's errors
    exempt = tuple(errors[name] for name in NOT_REFUSALS)  # with their kinds
    others = sorted(name for name, cls in errors.items()
                    if not issubclass(cls, (Refusal, DatabaseError, *exempt)))
    assert others == []
    assert set(NOT_REFUSALS) <= set(errors)  # the exceptions named above still exist


def _attempt_script(kind: str) -> None:
    from crm.common.errors import Refusal
    from crm.ui.record_view import attempt

    def save() -> None:
        if kind == "refusal":
            raise Refusal("A contact needs a company.")
        raise ValueError("invalid literal for int() with base 10: 'x'")  # a bug

    attempt(save, "flash", "Saved.")


def test_a_page_shows_a_refusal_as_a_message():
    at = AppTest.from_function(_attempt_script, args=("refusal",)).run()
    assert not at.exception
    assert [e.value for e in at.error] == [text.plain("A contact needs a company.")]  # escaped


def test_a_page_lets_a_bug_fail_instead_of_showing_it_as_a_message():
    at = AppTest.from_function(_attempt_script, args=("bug",)).run()
    assert not at.error
    assert at.exception and "invalid literal" in at.exception[0].message
