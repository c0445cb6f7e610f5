"""The pure core must not import the web, the database or the storage client."""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = ("flask", "sqlalchemy", "minio", "werkzeug", "alembic", "psycopg", "httpx")


def test_core_imports_nothing_impure() -> None:
    code = (
        "import sys, pkgutil, importlib, fieldproof.core as c\n"
        "for m in pkgutil.walk_packages(c.__path__, 'fieldproof.core.'):\n"
        "    importlib.import_module(m.name)\n"
        f"bad = sorted(n for n in sys.modules if n.split('.')[0] in {FORBIDDEN!r})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "", f"core pulled in: {out.stdout.strip()}"
