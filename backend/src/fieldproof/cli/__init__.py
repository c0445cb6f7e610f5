"""The `fieldproof` command: serve, worker, admin, client, verify, log.

Each group lives in its own module; importing them here registers their
commands on :data:`main`.
"""

from __future__ import annotations

from fieldproof.cli import (  # noqa: F401 - registers commands
    admin,
    case,
    client,
    log,
    serve,
    verify,
    witness,
)
from fieldproof.cli.common import main

__all__ = ["main"]

if __name__ == "__main__":  # pragma: no cover
    main()
