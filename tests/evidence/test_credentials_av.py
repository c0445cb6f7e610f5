"""C2PA copies of WebM/Ogg recordings: real media made with PyAV, real remux, real signing.

Every recording here is encoded by PyAV (libopus, libvpx) in the test, the way
a browser's MediaRecorder writes it; services/remux.py turns it into an MP4 in
a child process and services/credentials.py signs that. The checks decode
both files independently of the code under test.
"""

from __future__ import annotations

import array
import hashlib
import io
import math
import zipfile
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

import av
import pytest

from fieldproof.bundle.read import ZipBundle
from fieldproof.bundle.verify import verify_bundle
from fieldproof.errors import UnsupportedFormat
from fieldproof.evidence import remux
from fieldproof.evidence.credentials import (
    DERIVATION_PARAMETER,
    DIGITAL_CAPTURE,
    CredentialReport,
    Signed,
    credential_filename,
    read_credential,
    supported,
    write_credential_copy,
)
from fieldproof.evidence.identity import ServerIdentity, SigningIdentity
from fieldproof.services import Services
from fieldproof.tsa import EmbeddedTSA
from tests.support.accounts import User
from tests.support.c2pa import facts_for
from tests.support.problems import assert_problem
from tests.support.streams import NS, HandStream

OPUS_FRAME = 960  # 20 ms at 48 kHz, what MediaRecorder's Opus writes


# --------------------------------------------------------------------------- media
@cache
def recording(video: str | None = None, audio: str | None = "libopus", *,
              container: str = "webm", size: tuple[int, int] = (64, 48), fps: int = 15,
              seconds: float = 2.0, channels: int = 1, gop: int | None = None) -> bytes:
    """A small recording encoded by PyAV: a moving test pattern and/or a 440 Hz tone."""
    buf = io.BytesIO()
    with av.open(buf, "w", format=container) as out:
        vs = aus = None
        if video:
            vs = out.add_stream(video, rate=fps)
            vs.width, vs.height, vs.pix_fmt = size[0], size[1], "yuv420p"
            vs.options = {"deadline": "realtime", "cpu-used": "8"}
            if gop:
                vs.codec_context.gop_size = gop  # a key frame at least every gop frames
        if audio:
            aus = out.add_stream(audio, rate=48000)
            aus.layout = "mono" if channels == 1 else "stereo"
        if vs is not None:
            for i in range(int(seconds * fps)):
                frame = av.VideoFrame(size[0], size[1], "yuv420p")
                y, u, v = frame.planes
                y.update(bytes((x * 3 + i * 8) % 256 for x in range(y.line_size)) * y.height)
                u.update(bytes([(i * 9) % 256]) * (u.line_size * u.height))
                v.update(bytes([128]) * (v.line_size * v.height))
                frame.pts, frame.time_base = i, Fraction(1, fps)
                out.mux(vs.encode(frame))
            out.mux(vs.encode(None))
        if aus is not None:
            rate, layout = 48000, "mono" if channels == 1 else "stereo"
            for k in range(0, int(seconds * rate), OPUS_FRAME):
                pcm = array.array("h", (int(8000 * math.sin(2 * math.pi * 440 * (k + j) / rate))
                                        for j in range(OPUS_FRAME) for _ in range(channels)))
                frame = av.AudioFrame(format="s16", layout=layout, samples=OPUS_FRAME)
                frame.planes[0].update(pcm.tobytes())
                frame.sample_rate, frame.pts, frame.time_base = rate, k, Fraction(1, rate)
                out.mux(aus.encode(frame))
            out.mux(aus.encode(None))
    return buf.getvalue()


def payloads(data: bytes, kind: str) -> list[bytes]:
    """The payloads of the first ``kind`` stream's packets, in container order."""
    with av.open(io.BytesIO(data)) as c:
        stream = next(s for s in c.streams if s.type == kind)
        return [bytes(p) for p in c.demux(stream) if p.size]


def decoded(data: bytes, kind: str) -> list[tuple[float, bytes]]:
    """(time, raw samples/pixels) of every decoded frame of the first ``kind`` stream."""
    out = []
    with av.open(io.BytesIO(data)) as c:
        stream = next(s for s in c.streams if s.type == kind)
        for frame in c.decode(stream):
            t = float(frame.pts * frame.time_base) if frame.pts is not None else math.nan
            if isinstance(frame, av.AudioFrame):
                n = frame.samples * frame.format.bytes * (
                    1 if frame.format.is_planar else frame.layout.nb_channels)
                out.append((t, b"".join(bytes(p)[:n] for p in frame.planes)))
            else:
                assert isinstance(frame, av.VideoFrame)
                out.append((t, b"".join(bytes(p) for p in frame.planes)))
    return out


def assert_same_sound(source: bytes, copy: bytes) -> None:
    """The same decoded Opus frames; at the edges only the trimming may differ.

    Every packet is the same, so every frame decodes the same. The first
    frame is cut by the pre-skip, which the MP4's edit list takes from the
    source's (WebM: millisecond) timestamps, so up to 1 ms apart; the last
    frame's end trim (Matroska DiscardPadding, Ogg's end granule) is in the
    MP4's edit list too, which FFmpeg ignores when decoding, so FFmpeg gives
    the copy's last frame in full.
    """
    a, b = decoded(source, "audio"), decoded(copy, "audio")
    assert len(a) == len(b) > 2
    assert [pcm for _, pcm in a[1:-1]] == [pcm for _, pcm in b[1:-1]]
    first_a, first_b = a[0][1], b[0][1]
    assert first_a.endswith(first_b) or first_b.endswith(first_a)
    assert abs(len(first_a) - len(first_b)) <= 48 * 4  # 1 ms of float samples
    assert b[-1][1].startswith(a[-1][1])
    assert len(b[-1][1]) <= OPUS_FRAME * 4


def info(data: bytes) -> dict[str, Any]:
    with av.open(io.BytesIO(data)) as c:
        return {"format": c.format.name,
                "streams": [(s.type, s.codec_context.codec.canonical_name) for s in c.streams],
                "size": [(s.codec_context.width, s.codec_context.height)
                         for s in c.streams if s.type == "video"]}


def key_times(data: bytes) -> list[float]:
    with av.open(io.BytesIO(data)) as c:
        v = c.streams.video[0]
        return [round(float(p.pts * v.time_base), 3) for p in c.demux(v)
                if p.size and p.is_keyframe]


# --------------------------------------------------------------------------- signing
@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[SigningIdentity, EmbeddedTSA]:
    base = tmp_path_factory.mktemp("c2pa-av-keys")
    return ServerIdentity(base / "server-ca").get("c2pa"), EmbeddedTSA.load_or_create(
        base / "tsa")


def sign(keys: Any, media: bytes, mime: str, kind: str = "video") -> tuple[bytes, Signed,
                                                                             CredentialReport]:
    ours, tsa = keys
    out = io.BytesIO()
    signed = write_credential_copy(io.BytesIO(media), out, mime,
                                   facts_for(media, mime, kind=kind), ours, [tsa])
    report = read_credential(out.getvalue(), signed.format, [ours.root_pem])
    assert report.state == "Trusted", report.failure
    assert report.failure == [] and "timeStamp.validated" in report.success
    return out.getvalue(), signed, report


def derivation_of(report: CredentialReport, media: bytes, mime: str) -> dict[str, Any]:
    """Checks common to every converted copy; returns the recorded derivation."""
    sha = hashlib.sha256(media).hexdigest()
    [ingredient] = report.ingredients
    assert ingredient["relationship"] == "parentOf"
    assert ingredient["instance_id"] == f"fieldproof:sha256:{sha}"
    assert ingredient["metadata"]["org.fieldproof.sha256"] == sha
    assert ingredient["format"] == remux.normalize(mime)
    created, derived = report.assertion("c2pa.actions.v2")["actions"]
    assert created["action"] == "c2pa.created" and created["digitalSourceType"] == DIGITAL_CAPTURE
    assert derived["softwareAgent"]["name"] == "FieldProof"
    [ref] = derived["parameters"]["ingredients"]  # points at the original
    assert ref["url"].endswith("c2pa.ingredient.v3")
    params: dict[str, Any] = derived["parameters"][DERIVATION_PARAMETER]
    assert params["tools"]["pyav"] == av.__version__
    assert params["tools"]["ffmpeg"] == str(av.ffmpeg_version_info)
    assert params["source"]["mime"] == remux.normalize(mime)
    assert report.assertion("org.fieldproof.capture")["original"]["sha256"] == sha
    assert report.hard_binding is not None and report.hard_binding[0].startswith(
        "c2pa.hash.bmff")
    params["action"], params["description"] = derived["action"], derived["description"]
    return params


def by_type(params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["type"]: s for s in params["streams"]}


# --------------------------------------------------------------------------- stream copy
def test_opus_webm_becomes_an_m4a_by_stream_copy(keys: Any) -> None:
    media = recording()  # audio/webm;codecs=opus, as Chrome records it
    copy, signed, report = sign(keys, media, "audio/webm;codecs=opus", "audio")
    assert signed.format == "audio/mp4" and signed.derivation is not None
    assert info(copy)["streams"] == [("audio", "opus")] and "mp4" in info(copy)["format"]
    params = derivation_of(report, media, "audio/webm")
    assert params["action"] == "c2pa.repackaged" and params["method"] == "stream copy"
    assert "copied unchanged" in params["description"]
    assert params["target"]["mime"] == "audio/mp4"

    # every Opus packet is in the copy, byte for byte, and the sound decodes the same
    source, target = payloads(media, "audio"), payloads(copy, "audio")
    assert len(source) == len(target) == 101 and source == target
    [audio] = params["streams"]
    assert audio["method"] == "copy" and audio["payload_identical"] is True
    assert "encoder" not in audio
    assert audio["source_payload_sha256"] == hashlib.sha256(b"".join(source)).hexdigest()
    assert audio["target_payload_sha256"] == audio["source_payload_sha256"]
    assert audio["source_packets"] == audio["target_packets"] == 101
    assert_same_sound(media, copy)
    a, b = decoded(media, "audio"), decoded(copy, "audio")
    assert a[-1][0] == pytest.approx(b[-1][0], abs=0.001)
    assert params["target"]["duration"] == pytest.approx(params["source"]["duration"],
                                                         abs=0.02)
    assert params["source"]["duration"] == pytest.approx(2.0, abs=0.03)


def test_vp9_webm_is_stream_copied_into_mp4(keys: Any) -> None:
    media = recording("libvpx-vp9")
    copy, signed, report = sign(keys, media, "video/webm;codecs=vp9,opus")
    assert signed.format == "video/mp4"
    assert info(copy)["streams"] == [("video", "vp9"), ("audio", "opus")]
    params = derivation_of(report, media, "video/webm")
    assert (params["action"], params["method"]) == ("c2pa.repackaged", "stream copy")
    streams = by_type(params)
    for kind in ("video", "audio"):
        assert streams[kind]["method"] == "copy" and streams[kind]["payload_identical"]
        assert payloads(media, kind) == payloads(copy, kind)
        assert streams[kind]["target_payload_sha256"] == hashlib.sha256(
            b"".join(payloads(copy, kind))).hexdigest()
    assert streams["video"]["source_packets"] == 30
    # the same pictures at the same times
    a, b = decoded(media, "video"), decoded(copy, "video")
    assert len(a) == len(b) == 30
    assert [px for _, px in a] == [px for _, px in b]
    assert [round(t, 3) for t, _ in a] == [round(t, 3) for t, _ in b]


# --------------------------------------------------------------------------- transcode
def test_vp8_webm_is_transcoded_to_vp9_and_keeps_its_opus(keys: Any) -> None:
    media = recording("libvpx", fps=15, seconds=2.0, gop=10)
    assert len(key_times(media)) == 3
    copy, signed, report = sign(keys, media, "video/webm;codecs=vp8,opus")
    assert signed.format == "video/mp4"
    assert info(copy)["streams"] == [("video", "vp9"), ("audio", "opus")]
    params = derivation_of(report, media, "video/webm")
    assert (params["action"], params["method"]) == ("c2pa.transcoded", "transcode")
    assert "vp8 re-encoded to vp9 (libvpx-vp9)" in params["description"]
    streams = by_type(params)
    video, audio = streams["video"], streams["audio"]
    assert (video["method"], video["source_codec"], video["target_codec"]) == \
        ("encode", "vp8", "vp9")
    assert video["encoder"] == "libvpx-vp9"  # BSD; the GPL x264 only if libvpx is missing
    assert video["settings"] == {"crf": "24", "b": "0", "deadline": "realtime",
                                 "cpu-used": "6", "row-mt": "1", "pix_fmt": "yuv420p"}
    assert video["payload_identical"] is False
    assert video["source_payload_sha256"] == hashlib.sha256(
        b"".join(payloads(media, "video"))).hexdigest()
    assert video["target_payload_sha256"] == hashlib.sha256(
        b"".join(payloads(copy, "video"))).hexdigest()
    assert "scaled" not in video["details"]
    # the audio is not touched by the video's re-encode
    assert audio["method"] == "copy" and audio["payload_identical"]
    assert payloads(media, "audio") == payloads(copy, "audio")

    # every frame is there, at its time, and the source's key frames stay key frames
    a, b = decoded(media, "video"), decoded(copy, "video")
    assert len(a) == len(b) == 30
    assert [round(t, 3) for t, _ in a] == [round(t, 3) for t, _ in b]
    assert set(key_times(media)) <= set(key_times(copy))
    assert info(copy)["size"] == [(64, 48)]
    assert params["target"]["duration"] == pytest.approx(params["source"]["duration"],
                                                         abs=1 / 15)


def test_odd_sized_vp8_keeps_its_size_in_vp9(keys: Any) -> None:
    media = recording("libvpx", audio=None, size=(65, 49), seconds=1.0)
    copy, signed, report = sign(keys, media, "video/webm")
    assert signed.derivation is not None and signed.derivation.action == "c2pa.transcoded"
    video = by_type(derivation_of(report, media, "video/webm"))["video"]
    assert "scaled" not in video["details"]  # VP9 takes odd sizes; x264 would scale
    assert (video["details"]["source_width"], video["details"]["width"]) == (65, 65)
    assert info(copy)["size"] == [(65, 49)] and info(copy)["streams"] == [("video", "vp9")]


def test_pcm_in_webm_is_transcoded_to_aac(keys: Any) -> None:
    # Chrome's audio/webm;codecs=pcm: float PCM in a Matroska file
    media = recording(audio="pcm_f32le", container="matroska", channels=2)
    copy, signed, report = sign(keys, media, "audio/webm;codecs=pcm", "audio")
    assert signed.format == "audio/mp4"
    assert info(copy)["streams"] == [("audio", "aac")]
    params = derivation_of(report, media, "audio/webm")
    assert params["action"] == "c2pa.transcoded"
    [audio] = params["streams"]
    assert (audio["source_codec"], audio["encoder"]) == ("pcm_f32le", "aac")
    assert audio["settings"]["bit_rate"] == remux.AUDIO_BIT_RATE
    assert audio["settings"]["layout"] == "stereo"
    assert params["target"]["duration"] == pytest.approx(2.0, abs=0.05)
    assert len(decoded(copy, "audio")) > 90  # 1024-sample AAC frames over 2 s


# --------------------------------------------------------------------------- other cases
def test_ogg_opus_is_stream_copied(keys: Any) -> None:
    media = recording(container="ogg")  # Firefox's audio/ogg;codecs=opus
    copy, signed, report = sign(keys, media, "audio/ogg;codecs=opus", "audio")
    assert signed.format == "audio/mp4"
    params = derivation_of(report, media, "audio/ogg")
    assert params["action"] == "c2pa.repackaged" and params["source"]["container"] == "ogg"
    assert payloads(media, "audio") == payloads(copy, "audio")
    assert_same_sound(media, copy)


def test_video_webm_holding_only_audio_becomes_an_m4a(keys: Any) -> None:
    media = recording()
    _, signed, report = sign(keys, media, "video/webm", "audio")  # what a sniffer says
    assert signed.format == "audio/mp4" and credential_filename(signed.format) == "c2pa.m4a"
    assert report.manifest["title"].endswith("-c2pa.m4a")


def test_a_recording_cut_short_still_converts(keys: Any) -> None:
    """An interrupted stream's original ends mid-cluster; what is there is copied."""
    full = recording("libvpx-vp9", seconds=2.0)
    cut = full[:len(full) * 6 // 10]
    copy, _, report = sign(keys, cut, "video/webm")
    params = derivation_of(report, cut, "video/webm")
    streams = by_type(params)
    assert 0 < streams["video"]["target_packets"] < 30
    assert all(s["payload_identical"] for s in params["streams"])
    assert payloads(copy, "audio") == payloads(cut, "audio")
    assert 0.5 < params["target"]["duration"] < 1.9  # from the packets, not the header


def test_names_and_types() -> None:
    for mime in ("audio/webm;codecs=opus", "video/webm;codecs=vp8,opus", "video/webm",
                 "audio/ogg;codecs=opus", "video/x-matroska"):
        assert supported(mime), mime
    assert credential_filename("audio/webm;codecs=opus") == "c2pa.m4a"
    assert credential_filename("audio/ogg") == "c2pa.m4a"
    assert credential_filename("video/webm;codecs=vp9,opus") == "c2pa.mp4"
    assert credential_filename("video/mp4") == "c2pa.mp4"
    assert remux.target_mime("video/webm") == "video/mp4"
    with pytest.raises(remux.RemuxError, match="not a container"):
        remux.to_mp4(io.BytesIO(b""), "video/mp4", Path("/nonexistent"))


def test_unreadable_slow_and_codecless_recordings(keys: Any, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    ours, tsa = keys
    junk = b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 8  # an EBML magic, then nonsense
    with pytest.raises(UnsupportedFormat, match="cannot be made") as info_:
        write_credential_copy(io.BytesIO(junk), io.BytesIO(), "audio/webm",
                              facts_for(junk, "audio/webm", kind="audio"), ours, [tsa])
    assert info_.value.http_status == 409
    # the child got the real thing but no time: 413 too_large, nothing left behind
    media = recording()
    monkeypatch.setattr(remux, "TIMEOUT", 0.001)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    with pytest.raises(Exception) as slow:
        write_credential_copy(io.BytesIO(media), io.BytesIO(), "audio/webm",
                              facts_for(media, "audio/webm", kind="audio"), ours, [tsa])
    assert getattr(slow.value, "code", None) == "too_large", slow.value
    assert getattr(slow.value, "http_status", None) == 413
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    # a file with streams but none audio or video (a subtitle track only)
    buf = io.BytesIO()
    with av.open(buf, "w", format="matroska") as out:
        out.add_stream("ass")
    with pytest.raises(remux.RemuxError):
        remux.to_mp4(io.BytesIO(buf.getvalue()), "video/x-matroska", tmp_path)


# --------------------------------------------------------------------------- over HTTP
def _upload(user: User, media: bytes, **kw: Any) -> dict[str, Any]:
    r = user.upload(user.enroll(), media, **kw)
    assert r.status_code == 201, r.json
    return dict(r.json)


def test_webm_captures_over_http_and_in_bundles(user: User, client: Any,
                                                services: Services) -> None:
    root = services.identity.get("c2pa").root_pem
    cases = [(recording(), "audio", "audio/webm;codecs=opus", "audio/mp4", ".m4a"),
             (recording("libvpx"), "video", "video/webm;codecs=vp8,opus", "video/mp4", ".mp4")]
    for media, kind, mime, want, ext in cases:
        body = _upload(user, media, kind=kind, mime=mime)
        services.sequencer.integrate()
        r = client.get(f"/api/v1/captures/{body['id']}/derived/c2pa", headers=user.auth)
        assert r.status_code == 200, r.get_data(as_text=True)
        assert r.mimetype == want
        assert f'{body["id"]}-c2pa{ext}' in r.headers["Content-Disposition"]
        assert r.headers["X-FieldProof-Original-SHA256"] == hashlib.sha256(media).hexdigest()
        assert r.headers["X-FieldProof-Derived-SHA256"] == hashlib.sha256(r.data).hexdigest()
        report = read_credential(r.data, want, [root])
        assert report.state == "Trusted" and report.failure == []
        assert report.ingredients[0]["instance_id"] == \
            f"fieldproof:sha256:{body['media']['sha256']}"
        actions = [a["action"] for a in report.assertion("c2pa.actions.v2")["actions"]]
        assert actions == ["c2pa.created", "c2pa.repackaged" if kind == "audio"
                           else "c2pa.transcoded"]
        assert report.assertion("org.fieldproof.capture")["capture_id"] == body["id"]
        orig = client.get(f"/api/v1/captures/{body['id']}/original", headers=user.auth)
        assert orig.data == media  # the original is untouched

    # the (uploaded, not streamed) video recording's evidence bundle carries the copy too
    services.sequencer.integrate()
    r = client.get(f"/api/v1/captures/{body['id']}/bundle", headers=user.auth)
    assert r.status_code == 200
    with zipfile.ZipFile(io.BytesIO(r.data)) as zf:
        assert "derived/c2pa.mp4" in zf.namelist()
        copy = zf.read("derived/c2pa.mp4")
        server_ca = zf.read("keys/server-ca.pem")
        bundle_report = verify_bundle(ZipBundle(zf))
    assert bundle_report.ok, bundle_report.lines()
    assert read_credential(copy, "video/mp4", [server_ca]).state == "Trusted"



def test_a_streamed_webm_recording(user: User, client: Any, services: Services,
                                   sio: Any) -> None:
    """The PWA's path: a MediaRecorder WebM streamed in chunks, then assembled."""
    media = recording()
    hs = HandStream(user.enroll(), user.nonce(), kind="audio", mime="audio/webm;codecs=opus")

    def emit(event: str, msg: dict[str, Any]) -> dict[str, Any]:
        reply: dict[str, Any] = sio.emit(event, msg, namespace=NS, callback=True)
        assert reply["ok"], reply
        return reply

    emit("start", hs.start_msg())
    third = len(media) // 3 + 1
    for seq in range(3):
        emit("chunk", hs.chunk_msg(seq, media[seq * third:(seq + 1) * third]))
    cid = emit("stop", hs.stop_msg())["capture"]["id"]
    services.sequencer.integrate()
    r = client.get(f"/api/v1/captures/{cid}/derived/c2pa", headers=user.auth)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.mimetype == "audio/mp4"
    report = read_credential(r.data, "audio/mp4", [services.identity.get("c2pa").root_pem])
    assert report.state == "Trusted"
    assert report.ingredients[0]["instance_id"] == \
        f"fieldproof:sha256:{hashlib.sha256(media).hexdigest()}"
    assert payloads(r.data, "audio") == payloads(media, "audio")

    # random bytes that only claim to be WebM: 409, as before
    junk = _upload(user, b"\x1a\x45\xdf\xa3" + bytes(300), kind="audio", mime="audio/webm")
    r = client.get(f"/api/v1/captures/{junk['id']}/derived/c2pa", headers=user.auth)
    assert_problem(r, 409, "unsupported_format")
