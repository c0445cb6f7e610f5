"""The log's side of witnessing: a witness that is down, or answers with another
key, never stops the log and never gets a cosignature stored."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pytest

from fieldproof.config import Settings
from fieldproof.core.cosignature import Cosigner
from fieldproof.db import LogCosignature
from fieldproof.services import Services
from fieldproof.web import create_app
from tests.support.accounts import User
from tests.support.live import free_port
from tests.support.photos import jpeg
from tests.support.uploads import upload_capture
from tests.support.witness import WitnessServer


def upload_photo(services: Services, media: bytes) -> None:
    email = f"w{len(media)}-{id(services)}@example.org"
    uid = services.accounts.create_user(email, "correct horse battery")
    client = create_app(services=services).test_client()
    upload_capture(User(email, services.accounts.issue_token(uid), client), media)


def _build(settings: Settings, witnesses: tuple[str, ...]) -> Services:
    return Services.build(replace(settings, witnesses=witnesses))


def _cosignatures(services: Services) -> int:
    with services.db.reading() as s:
        return s.query(LogCosignature).count()


def test_a_witness_that_is_down_does_not_stop_the_log(
        settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    down = Cosigner.generate("witness.test/down").key.vkey()
    services = _build(settings, (f"http://127.0.0.1:{free_port()}|{down}",))
    try:
        upload_photo(services, jpeg(make="down"))
        with caplog.at_level(logging.WARNING, "fieldproof.log.witnesses"):
            assert services.sequencer.integrate() == 1
        assert services.log.latest_checkpoint().size == 1
        assert "witness_unavailable" in caplog.text
        assert _cosignatures(services) == 0
        assert services.tiles.published_size() == 1  # the tiles go out all the same
    finally:
        services.close()


def test_an_answer_by_another_key_is_not_stored(settings: Settings, tmp_path: Path) -> None:
    services = Services.build(settings)  # makes the log key
    vkey = services.log.signer.verifier.vkey()
    services.close()
    real = WitnessServer(tmp_path / "w", "witness.test/w1", (vkey,))
    (tmp_path / "w").mkdir()
    real.start()
    try:
        # the configured key has the witness's name but is not its key
        impostor = Cosigner.generate("witness.test/w1").key.vkey()
        services = _build(settings, (f"{real.url}|{impostor}",))
        try:
            upload_photo(services, jpeg(make="impostor"))
            services.sequencer.integrate()
            assert _cosignatures(services) == 0
        finally:
            services.close()
        services = _build(settings, (f"{real.url}|{real.vkey}",))
        try:
            upload_photo(services, jpeg(make="real"))
            services.sequencer.integrate()
            assert _cosignatures(services) == 1
            note = services.tiles.read("checkpoint")
            assert "\u2014 witness.test/w1 ".encode() in note
        finally:
            services.close()
    finally:
        real.stop()
