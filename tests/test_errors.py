"""Errors are named by class: one class per stable code, each code documented."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re

import fieldproof
from fieldproof.errors import FieldProofError
from tests.support.paths import ROOT

PROTOCOL = (ROOT / "shared" / "PROTOCOL.md").read_text()
# These carry a code decided elsewhere: the server's (ClientError) or werkzeug's.
DYNAMIC = {"ClientError", "HttpProblem"}


def _all_error_classes() -> list[type[FieldProofError]]:
    for mod in pkgutil.walk_packages(fieldproof.__path__, "fieldproof."):
        if mod.name.endswith("__main__") or ".migrations" in mod.name:
            continue
        importlib.import_module(mod.name)
    seen: list[type[FieldProofError]] = []
    todo = [FieldProofError]
    while todo:
        cls = todo.pop()
        seen.append(cls)
        todo.extend(cls.__subclasses__())
    return [c for c in seen if c.__name__ not in DYNAMIC]


def test_one_class_per_code_and_every_code_documented() -> None:
    classes = _all_error_classes()
    codes: dict[str, str] = {}
    for cls in classes:
        assert "code" in cls.__dict__, f"{cls.__name__} has no code of its own"
        assert cls.code not in codes, f"{cls.code} is both {codes[cls.code]} and {cls.__name__}"
        codes[cls.code] = cls.__name__
    undocumented = sorted(c for c in codes if f"`{c}`" not in PROTOCOL)
    assert undocumented == [], f"codes missing from shared/PROTOCOL.md: {undocumented}"
    assert len(codes) > 60


def test_no_raise_site_changes_a_code_or_status() -> None:
    offenders = []
    for path in (ROOT / "backend" / "src" / "fieldproof").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                    re.search(r"(Error|Failed|Invalid|Missing)$|^[A-Z]", node.func.id) and \
                    node.func.id not in DYNAMIC and \
                    any(k.arg in ("code", "status", "http_status") for k in node.keywords) and \
                    node.func.id not in ("Response", "TokenInfo", "Capture", "Stream",
                                         "WebCapture"):
                offenders.append(f"{path.name}:{node.lineno} {node.func.id}")
    assert offenders == []
