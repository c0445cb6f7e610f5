"""The baseline servers' gunicorn: `fieldproof serve`'s settings
(backend/src/fieldproof/cli/serve.py) minus TLS and its guarded worker."""

from __future__ import annotations

from typing import Any


def serve(app: Any, port: int, threads: int, *, accesslog: bool = True) -> None:
    from gunicorn.app.base import BaseApplication

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"127.0.0.1:{port}")
            self.cfg.set("workers", 1)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", threads)
            self.cfg.set("timeout", 120)
            self.cfg.set("control_socket_disable", True)
            if accesslog:
                self.cfg.set("accesslog", "-")
                self.cfg.set("access_log_format", '%(h)s "%(r)s" %(s)s %(b)s %(M)sms')

        def load(self) -> Any:
            return app

    _Server().run()
