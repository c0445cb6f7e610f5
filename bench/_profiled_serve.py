"""`fieldproof serve` whose POST /captures runs under cProfile (diagnosis only).

Used by `python -m bench.profile_ingest`; never by `make bench`. The server is
otherwise exactly as shipped: one cProfile dump per upload goes to the
directory in BENCH_SERVER_PROFILE.
"""

from __future__ import annotations

import os
import sys
from typing import Any

PROFILE_ENV = "BENCH_SERVER_PROFILE"


def profile_uploads(out_dir: str) -> None:
    """Wrap create_app so each POST /captures runs under cProfile."""
    import cProfile
    import itertools

    import fieldproof.web as web

    real_create_app = web.create_app
    counter = itertools.count(1)

    def create_app(*args: Any, **kwargs: Any) -> Any:
        app = real_create_app(*args, **kwargs)
        inner = app.wsgi_app

        def wsgi_app(environ: dict[str, Any], start_response: Any) -> Any:
            if environ.get("REQUEST_METHOD") != "POST" or not environ.get(
                    "PATH_INFO", "").endswith("/captures"):
                return inner(environ, start_response)
            prof = cProfile.Profile()
            try:
                return prof.runcall(inner, environ, start_response)
            finally:
                prof.dump_stats(os.path.join(out_dir, f"upload-{next(counter)}.prof"))

        app.wsgi_app = wsgi_app  # type: ignore[method-assign]
        return app

    web.create_app = create_app  # type: ignore[assignment]


if __name__ == "__main__":
    if os.environ.get(PROFILE_ENV):
        profile_uploads(os.environ[PROFILE_ENV])
    from fieldproof.cli import main

    sys.argv[0] = "fieldproof"
    main()
