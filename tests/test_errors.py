"""The error tree: every code is unique, dotted, and every class sits under a family."""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterator
from operator import attrgetter

import pytest

import did
import did.errors as errors
from did.errors import GovidError

_PACKAGES = (
    "did",
    "openid4vc",
    "service",
    "registry",
    "issuer",
    "verifier",
    "holder_wallet",
    "govid",
)
_FAMILIES = (
    errors.MalformedInput,
    errors.VerificationFailed,
    errors.NotFound,
    errors.Conflict,
    errors.Forbidden,
    errors.Unauthorized,
    errors.Unsupported,
    errors.Unavailable,
)


def _import_everything() -> None:
    # Error classes defined in service packages only exist once imported.
    for name in _PACKAGES:
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{name}."):
            # Alembic's env.py runs migrations on import: not a module to load.
            if ".migrations" not in info.name and not info.name.endswith("__main__"):
                importlib.import_module(info.name)


def _all_error_classes(root: type[GovidError] = GovidError) -> Iterator[type[GovidError]]:
    for cls in root.__subclasses__():
        yield cls
        yield from _all_error_classes(cls)


def test_error_codes_are_unique() -> None:
    _import_everything()
    classes = set(_all_error_classes())
    codes = [cls.code for cls in classes]
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    assert not duplicates, f"error classes share codes: {duplicates}"


def test_error_codes_are_dotted_lowercase() -> None:
    _import_everything()
    for cls in _all_error_classes():
        assert re.fullmatch(r"[a-z0-9_]+(\.[a-z0-9_]+)+", cls.code), cls


_import_everything()


@pytest.mark.parametrize("cls", sorted(_all_error_classes(), key=attrgetter("code")))
def test_every_leaf_belongs_to_a_family(cls: type[GovidError]) -> None:
    if cls in _FAMILIES:
        return
    assert issubclass(cls, _FAMILIES), f"{cls.__name__} is not under a family"


def test_message_is_kept_and_rendered_with_code() -> None:
    exc = errors.InvalidDID("not a DID")
    assert exc.message == "not a DID"
    assert str(exc) == "did.invalid: not a DID"
    assert did.__doc__
