"""`fieldproof serve` and `fieldproof worker`: the server's processes."""

from __future__ import annotations

import gc
import logging
import os
import sys
from pathlib import Path
from typing import Any

import click

from fieldproof.cli.common import data_dir_option, main, settings_for


def release_large_buffers() -> None:
    """glibc: buffers over 128 KiB (a stream's large chunks, upload blocks) come
    from mmap and go back to the system when freed. glibc otherwise raises that
    threshold after the first such free, and every thread's arena then keeps
    its high-water mark: +105 MiB over a 1 GiB stream instead of +66-77 MiB
    (bench/streams.py, rss part). And at most two arenas: with one per busy
    thread (glibc allows 8 per core) each keeps its own free memory; the GIL
    serialises the allocations anyway (+58 MiB, same throughput). mallopt has
    no Python binding: ctypes, and a no-op off glibc. Call it before threads
    start."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if not name:
        return
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD; also stops its adjustment
        libc.mallopt(-8, 2)  # M_ARENA_MAX
    except (OSError, AttributeError):
        pass  # not glibc


def log_to_stderr() -> None:
    """The server's own messages (never a token or a password) next to gunicorn's."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s [%(process)d] [%(levelname)s] %(name)s: %(message)s")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--threads", default=1024, show_default=True, type=int,
              help="worker threads; each open stream (WebSocket) holds one")
@click.option("--https", "use_https", is_flag=True,
              help="serve TLS (a self-signed certificate is made on first start)")
@click.option("--cert", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="your own certificate (PEM) for --https")
@click.option("--key", "key_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="its private key (PEM)")
@data_dir_option
def serve(host: str, port: int, threads: int, use_https: bool, cert: Path | None,
          key_file: Path | None, data_dir: Path | None) -> None:
    """Serve the API and the capture app (gunicorn, one process, threads)."""
    from gunicorn.app.base import BaseApplication

    from fieldproof.services import Services
    from fieldproof.web import create_app

    settings = settings_for(data_dir)
    os.umask(0o077)  # whatever else the server writes is private too
    log_to_stderr()
    # Migrate and create keys once, in the master, so a broken database or
    # data dir fails here loudly instead of in a worker boot loop.
    Services.build(settings).close()
    from fieldproof.cli.lan import lan_addresses, load_or_create_cert, qr_text

    lan = lan_addresses() if host in ("0.0.0.0", "::") else []  # noqa: S104
    if (cert is None) != (key_file is None):
        raise click.UsageError("--cert and --key go together")
    if use_https and cert is None:
        cert, key_file = load_or_create_cert(settings.keys_dir / "tls", lan)
    scheme = "https" if use_https else "http"

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", 1)
            # gthread, with request heads and small bodies read in the event loop:
            # slow clients cannot take the threads (web/worker.py).
            self.cfg.set("worker_class", "fieldproof.web.worker.GuardedThreadWorker")
            self.cfg.set("threads", threads)
            self.cfg.set("worker_connections", max(1000, 8 * threads))
            self.cfg.set("timeout", 120)
            self.cfg.set("accesslog", "-")
            # gunicorn's control socket has one fixed path per user: two
            # servers on one machine would fight over it, and nothing uses it.
            self.cfg.set("control_socket_disable", True)
            if use_https:
                self.cfg.set("certfile", str(cert))
                self.cfg.set("keyfile", str(key_file))
            # Never log request headers: they carry bearer tokens.
            self.cfg.set("access_log_format", '%(h)s "%(r)s" %(s)s %(b)s %(M)sms')

        def load(self) -> Any:
            # Runs in the worker process, after the fork.
            release_large_buffers()
            services = Services.build(settings)
            services.start_background(sequencer=settings.sequencer == "thread")
            app = create_app(services=services)
            # What startup made lives as long as the process: out of the
            # collector's sight, a full collection scans only what came later.
            # While 200 streams record, each such pause took 130-160 ms
            # before, 24-84 ms after (bench/streams.py, one run each).
            gc.collect()
            gc.freeze()
            return app

    click.echo(f"FieldProof serving {scheme}://{host}:{port}/ (data dir {settings.data_dir})",
               err=True)
    click.echo(tsa_notice(len(settings.external_tsas)), err=True)
    for addr in lan:
        url = f"{scheme}://{addr}:{port}/"
        click.echo(f"On a phone in the same network, open {url}", err=True)
        click.echo(qr_text(url), err=True)
    if lan and not use_https:
        click.echo("Camera and location need HTTPS on a LAN address: add --https.", err=True)
    _Server().run()


@main.command()
@data_dir_option
def worker(data_dir: Path | None) -> None:
    """Run the log sequencer, the web recorder's queue and machine transcription as
    their own process (serve with FIELDPROOF_SEQUENCER=off, FIELDPROOF_WEB_RECORDER=off
    and FIELDPROOF_ASR_RUNNER=off). Run several for a cluster: they all take jobs,
    and one at a time, elected in PostgreSQL, runs the sequencer (log/leader.py)."""
    import signal
    import threading

    from fieldproof.log.leader import Leadership
    from fieldproof.services import Services

    os.umask(0o077)
    log_to_stderr()
    release_large_buffers()
    settings = settings_for(data_dir)
    services = Services.build(settings)
    stopping = threading.Event()

    def stop(*_: Any) -> None:
        stopping.set()
        services.sequencer.stop(0)

    signal.signal(signal.SIGTERM, stop)
    services.housekeeping.start()
    services.web_runner.start()
    services.transcript_runner.start()
    leadership = Leadership(services.db, poll=min(1.0, settings.sequencer_interval))
    click.echo(f"worker {settings.node_name} started; waiting to lead the sequencer", err=True)
    lost = False
    try:
        if leadership.acquire(stopping):
            click.echo(f"sequencer running on {services.db.dialect}; log {services.log.origin}"
                       f" (leader: {settings.node_name})", err=True)
            services.sequencer.start()
            while not stopping.wait(leadership.poll):
                if not leadership.held():
                    # Someone else may lead now: stop writing, and let the supervisor
                    # start this worker again as a standby.
                    click.echo("lost the sequencer's leadership (database session ended); "
                               "exiting", err=True)
                    lost = True
                    break
    except KeyboardInterrupt:
        pass
    finally:
        services.close()
        leadership.release()
    if lost:
        sys.exit(3)


def tsa_notice(external: int) -> str:
    """What the first lines of `serve` say about who dates the evidence."""
    if external:
        return (f"Timestamps: {external} external RFC 3161 TSA(s) configured "
                "(FIELDPROOF_TSA_URLS); a certificate calls one independent only if its "
                "chain is not this server's.")
    from fieldproof.core import texts

    return (texts.text("trust", "no_external_tsa", "en") + "\n"
            + texts.text("trust", "no_external_tsa", "zh-CN"))
