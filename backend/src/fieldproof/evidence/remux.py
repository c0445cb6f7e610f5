"""Faithful MP4 copies of WebM, Matroska and Ogg recordings, for C2PA.

C2PA (c2pa-python) cannot carry a manifest in WebM or Ogg, which is what
browsers record (MediaRecorder: ``audio/webm;codecs=opus``,
``video/webm;codecs=vp8|vp9,opus``; Firefox also ``audio/ogg;codecs=opus``).
It can in ISO BMFF, so the credentialed copy of such a recording is an MP4
(``audio/mp4`` when there is no video) made with PyAV (FFmpeg):

- **stream copy** (C2PA action ``c2pa.repackaged``) for every stream whose
  codec MP4 carries: Opus, AAC, MP3, FLAC, ALAC audio; H.264, HEVC, VP9, AV1
  video. Each packet's payload goes into the MP4 unchanged, with the same
  timestamps (rescaled to the MP4 track's time base). No decoding.
- **transcode** (``c2pa.transcoded``) only for streams MP4 cannot carry: VP8
  (and any other video codec) is re-encoded to VP9 with libvpx (settings
  below; the source's key frames stay key frames), Vorbis/PCM audio to AAC.
  Other streams of the same file are still copied.

What happened to each stream is returned as a :class:`Remux` whose
``parameters()`` go into the C2PA action: codecs, method, encoder and
settings, packet counts, durations, the PyAV/FFmpeg versions, and per stream
the SHA-256 of its packet payloads concatenated in container order, in the
source and in the copy. For a copied stream the two are equal (checked here,
recorded as ``payload_identical``): the same bytes that the original holds.
Anyone can recompute them: ``ffmpeg -i FILE -map 0:N -c copy -f data - |
sha256sum`` writes exactly those concatenated payloads.

FFmpeg parses untrusted files, so the work runs in a child process (this
file, run as a script with ``python -I``: it imports only PyAV and the
standard library) with a wall-clock timeout and an address-space limit; a
crash or a hang there costs one request, not the server. The demuxer is
forced from the claimed container (``matroska`` or ``ogg``), never probed.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Final

log = logging.getLogger(__name__)

# Normalized source MIME type -> the FFmpeg demuxer forced for it.
SOURCES: Final = {
    "video/webm": "matroska", "audio/webm": "matroska",
    "video/x-matroska": "matroska", "audio/x-matroska": "matroska",
    "audio/ogg": "ogg", "video/ogg": "ogg", "application/ogg": "ogg", "audio/opus": "ogg",
}
# Its own small tables, not core/formats.py: this file also runs alone, as the
# isolated child (python -I), importing only PyAV and the standard library.
SOURCE_EXT: Final = {
    "video/webm": ".webm", "audio/webm": ".webm", "video/x-matroska": ".mkv",
    "audio/x-matroska": ".mka", "audio/ogg": ".ogg", "video/ogg": ".ogv",
    "application/ogg": ".ogg", "audio/opus": ".opus",
}
# Codecs (FFmpeg descriptor names) that go into MP4 as they are.
COPY_CODECS: Final = {
    "audio": frozenset({"opus", "aac", "mp3", "flac", "alac"}),
    "video": frozenset({"h264", "hevc", "vp9", "av1"}),
}
# Re-encoding, only for streams that cannot be copied: the first encoder
# available wins. The source's key frames are forced as key frames (seek points
# stay where they were; "forced-idr" makes x264's IDR frames).
# VP9 (libvpx, BSD) first: this Apache-2.0 server does not run the GPL x264
# encoder that PyAV's wheel also ships unless libvpx is missing; VP9 in MP4 is
# what C2PA's BMFF support and every current browser play.
VIDEO_ENCODERS: Final[tuple[tuple[str, dict[str, str]], ...]] = (
    ("libvpx-vp9", {"crf": "24", "b": "0", "deadline": "realtime", "cpu-used": "6",
                    "row-mt": "1"}),
    ("libx264", {"preset": "veryfast", "crf": "18", "forced-idr": "1"}),
)
VIDEO_PIX_FMT: Final = "yuv420p"
AUDIO_ENCODER: Final = "aac"  # FFmpeg's native AAC-LC encoder
AUDIO_BIT_RATE: Final = 192_000
MAX_PIXELS: Final = 8192 * 8192  # refuse absurd frame sizes before decoding any
TIMEOUT: Final = 300.0  # seconds for one remux or transcode (64 MiB of VP8 ~ 1 min)
CHILD_MEMORY: Final = 4 << 30  # address-space limit of the child (bytes)
CHILD_FILE: Final = 256 << 20  # largest file the child may write (bytes)

STREAM_COPY: Final = "stream copy"
TRANSCODE: Final = "transcode"
REPACKAGED: Final = "c2pa.repackaged"
TRANSCODED: Final = "c2pa.transcoded"
_UNSUPPORTED_EXIT: Final = 3


class RemuxError(Exception):
    """The file cannot be turned into an MP4 (not a readable recording, or no codec fits)."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


def normalize(mime: str) -> str:
    return mime.split(";", 1)[0].strip().lower()


def remuxable(mime: str) -> bool:
    """True for containers this module converts to MP4 (WebM, Matroska, Ogg)."""
    return normalize(mime) in SOURCES


def target_mime(mime: str) -> str:
    """The copy's type as far as the name tells: ``audio/mp4`` for audio, else ``video/mp4``.

    The real answer comes from the streams (a ``video/webm`` with no video
    track becomes ``audio/mp4``); see :attr:`Remux.mime`.
    """
    return "audio/mp4" if normalize(mime).startswith("audio/") else "video/mp4"


@dataclass(frozen=True)
class StreamDerivation:
    """One stream of the copy and where it came from."""

    source_index: int
    target_index: int
    type: str  # "audio" | "video"
    source_codec: str
    target_codec: str
    method: str  # "copy" | "encode"
    source_packets: int
    target_packets: int
    source_payload_sha256: str
    target_payload_sha256: str
    source_span: list[float] | None = None  # [first pts, last pts + duration], seconds
    target_span: list[float] | None = None
    encoder: str | None = None
    settings: dict[str, Any] | None = None
    details: dict[str, Any] = field(default_factory=dict)  # size, rate, layout, scaling

    @property
    def payload_identical(self) -> bool:
        return (self.source_packets == self.target_packets
                and self.source_payload_sha256 == self.target_payload_sha256)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["payload_identical"] = self.payload_identical
        if self.encoder is None:
            del out["encoder"], out["settings"]
        return out


@dataclass(frozen=True)
class Remux:
    """What was done to make the MP4 (also the child's JSON answer)."""

    source_mime: str
    mime: str  # the copy's: audio/mp4 or video/mp4
    source_container: str
    streams: list[StreamDerivation]
    dropped: list[dict[str, Any]]  # streams not carried over (subtitles, attachments, ...)
    source_duration: float | None  # seconds, from the packets (not the header: a
    duration: float | None  # recording cut short still states its planned length)
    tools: dict[str, str]

    @property
    def method(self) -> str:
        return STREAM_COPY if all(s.method == "copy" for s in self.streams) else TRANSCODE

    @property
    def action(self) -> str:
        return REPACKAGED if self.method == STREAM_COPY else TRANSCODED

    def parameters(self) -> dict[str, Any]:
        """The derivation, as recorded in the C2PA action's parameters."""
        return {
            "method": self.method,
            "source": {"mime": self.source_mime, "container": self.source_container,
                       "duration": self.source_duration},
            "target": {"mime": self.mime, "container": "mp4", "duration": self.duration},
            "streams": [s.as_dict() for s in self.streams],
            "dropped_streams": self.dropped,
            "payload_sha256": "SHA-256 of the stream's packet payloads concatenated in "
                              "container order (ffmpeg -i FILE -map 0:N -c copy -f data -)",
            "tools": self.tools,
        }

    def description(self) -> str:
        parts = []
        for s in self.streams:
            if s.method == "copy":
                parts.append(f"{s.type} {s.source_codec} copied unchanged")
            else:
                parts.append(f"{s.type} {s.source_codec} re-encoded to {s.target_codec} "
                             f"({s.encoder})")
        what = "Remuxed" if self.method == STREAM_COPY else "Transcoded"
        container = {"matroska": "WebM/Matroska", "ogg": "Ogg"}.get(self.source_container,
                                                                   self.source_container)
        return (f"{what} from {self.source_mime} to {self.mime} because C2PA cannot carry "
                f"{container}: " + "; ".join(parts))

    def to_json(self) -> str:
        data = asdict(self)
        data["streams"] = [asdict(s) for s in self.streams]
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> Remux:
        data = json.loads(text)
        data["streams"] = [StreamDerivation(**s) for s in data["streams"]]
        return cls(**data)


# --------------------------------------------------------------------------- parent side
def to_mp4(src: IO[bytes], mime: str, workdir: Path, *,
           timeout: float | None = None) -> tuple[Path, Remux]:
    """Convert ``src`` (a ``mime`` recording) to an MP4 in ``workdir``, in a child process.

    Returns the MP4's path and what was done. Raises RemuxError when the file
    is not a recording that can be converted, or the child fails or times out
    (after ``timeout`` seconds, default TIMEOUT; ``timed_out`` is then set).
    """
    timeout = TIMEOUT if timeout is None else timeout
    fmt = normalize(mime)
    if fmt not in SOURCES:
        raise RemuxError(f"{fmt or 'this type'} is not a container converted to MP4")
    source, target = workdir / ("original" + SOURCE_EXT[fmt]), workdir / "copy.mp4"
    src.seek(0)
    with open(source, "wb") as f:
        while block := src.read(1 << 20):
            f.write(block)
    src.seek(0)
    try:
        proc = subprocess.run(  # noqa: S603 - our interpreter and this file; fmt is a SOURCES key
            [sys.executable, "-I", __file__, fmt, str(source), str(target)],
            capture_output=True, timeout=timeout, check=False, cwd=workdir,
            env={k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL")})
    except subprocess.TimeoutExpired as exc:  # run() has killed the child
        raise RemuxError(f"converting to MP4 took longer than {timeout:.0f} s",
                         timed_out=True) from exc
    except OSError as exc:
        raise RemuxError(f"the MP4 converter could not be started ({_reason(exc)})") from exc
    finally:
        source.unlink(missing_ok=True)
    stderr = proc.stderr.decode("utf-8", "replace").strip()
    if proc.returncode == _UNSUPPORTED_EXIT:  # our own message, no paths in it
        raise RemuxError(stderr.splitlines()[-1] if stderr else "cannot convert to MP4")
    if proc.returncode != 0:  # a crash, or an error we did not foresee: details to the log
        log.warning("MP4 conversion of a %s file failed with status %s: %s", fmt,
                    proc.returncode, stderr[-2000:])
        how = (f"killed by signal {-proc.returncode}" if proc.returncode < 0
               else f"exit status {proc.returncode}")
        raise RemuxError(f"the MP4 conversion failed ({how})")
    return target, Remux.from_json(proc.stdout.decode("utf-8"))


# --------------------------------------------------------------------------- child side
def _tools() -> dict[str, str]:
    import av

    versions = {name: ".".join(map(str, v)) for name, v in av.library_versions.items()
                if name in ("libavformat", "libavcodec", "libswscale", "libswresample")}
    return {"pyav": str(av.__version__), "ffmpeg": str(av.ffmpeg_version_info), **versions}


class _Tally:
    """One stream's packets: count, SHA-256 of the payloads in order, time span."""

    def __init__(self) -> None:
        self.packets = 0
        self.digest = hashlib.sha256()
        self.start: float | None = None
        self.end: float | None = None

    def add(self, packet: Any) -> None:
        if not packet.size:  # the demuxer's end-of-stream marker
            return
        self.packets += 1
        self.digest.update(bytes(packet))
        if packet.pts is not None and packet.time_base:
            start = float(packet.pts * packet.time_base)
            end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
            self.start = start if self.start is None else min(self.start, start)
            self.end = end if self.end is None else max(self.end, end)

    @property
    def span(self) -> list[float] | None:
        if self.start is None or self.end is None:
            return None
        return [round(self.start, 6), round(self.end, 6)]


def _duration(spans: Iterable[list[float] | None]) -> float | None:
    known = [s for s in spans if s is not None]
    if not known:
        return None
    return round(max(s[1] for s in known) - min(s[0] for s in known), 6)


def _payloads(path: Path, indexes: Iterable[int]) -> dict[int, _Tally]:
    """Per stream of the file at ``path``: its packets, tallied."""
    import av

    tallies = {i: _Tally() for i in indexes}
    with av.open(str(path)) as c:
        for packet in c.demux():
            tally = tallies.get(packet.stream.index)
            if tally is not None:
                tally.add(packet)
    return tallies


def _reason(exc: Exception) -> str:
    """FFmpeg's reason without the file name (a server path is nobody's business)."""
    return str(getattr(exc, "strerror", None) or type(exc).__name__)


def _even(n: int) -> int:
    return max(2, n - n % 2)


def _video_encoder(out: Any, stream: Any) -> tuple[Any, str, dict[str, str], dict[str, Any]]:
    import av

    ctx = stream.codec_context
    width, height = int(ctx.width or 0), int(ctx.height or 0)
    if not width or not height:
        raise RemuxError("the video stream has no frame size")
    if width * height > MAX_PIXELS:
        raise RemuxError(f"the video frame size {width}x{height} is too large")
    for name, options in VIDEO_ENCODERS:
        if name not in av.codecs_available:
            continue
        codec = av.codec.Codec(name, "w")
        if codec.canonical_name not in out.supported_codecs:
            continue
        enc = out.add_stream(name)
        # libx264 needs even sizes for 4:2:0; VP9 does not
        w, h = (_even(width), _even(height)) if name == "libx264" else (width, height)
        enc.width, enc.height, enc.pix_fmt = w, h, VIDEO_PIX_FMT
        enc.time_base = stream.time_base  # keep the source's timestamps (variable rate)
        rate = stream.average_rate or stream.guessed_rate
        if rate:
            enc.codec_context.framerate = rate
        enc.options = dict(options)
        details: dict[str, Any] = {"width": w, "height": h, "pix_fmt": VIDEO_PIX_FMT,
                                   "source_width": width, "source_height": height,
                                   "time_base": str(stream.time_base),
                                   "key_frames": "forced where the source has them"}
        if (w, h) != (width, height):
            details["scaled"] = f"{width}x{height} to {w}x{h} (4:2:0 needs even sizes)"
        return enc, name, {**options, "pix_fmt": VIDEO_PIX_FMT}, details
    raise RemuxError("no video encoder for MP4 is available")


_LAYOUTS: Final = {1: "mono", 2: "stereo", 3: "2.1", 4: "4.0", 5: "5.0", 6: "5.1", 7: "6.1",
                   8: "7.1"}


def _audio_encoder(out: Any, stream: Any) -> tuple[Any, str, dict[str, Any], dict[str, Any]]:
    import av

    ctx = stream.codec_context
    rate = int(ctx.sample_rate or 48000)
    enc = out.add_stream(AUDIO_ENCODER, rate=rate)
    # the standard layout for the channel count (Matroska PCM has an unordered one)
    channels = int(ctx.layout.nb_channels or 1)
    if channels not in _LAYOUTS:
        raise RemuxError(f"{channels} audio channels cannot be encoded to AAC")
    layout = av.AudioLayout(_LAYOUTS[channels])
    enc.layout = layout
    enc.bit_rate = AUDIO_BIT_RATE
    settings = {"bit_rate": AUDIO_BIT_RATE, "sample_rate": rate, "layout": layout.name,
                "sample_fmt": enc.codec_context.format.name}
    return enc, AUDIO_ENCODER, settings, {"source_layout": ctx.layout.name,
                                          "source_sample_fmt": ctx.format.name}


def remux_file(mime: str, source: Path, target: Path) -> Remux:
    """The work itself (in the child): ``source`` -> MP4 at ``target``."""
    import av
    from av.video.frame import PictureType

    fmt = normalize(mime)
    demuxer = SOURCES.get(fmt)
    if demuxer is None:
        raise RemuxError(f"{fmt} is not converted to MP4")
    try:
        src = av.open(str(source), format=demuxer)
    except av.FFmpegError as exc:
        raise RemuxError(f"the file is not a readable {fmt} recording "
                         f"({_reason(exc)})") from exc
    with src:
        out = av.open(str(target), "w", format="mp4")
        plans: dict[int, dict[str, Any]] = {}
        dropped: list[dict[str, Any]] = []
        try:
            for stream in src.streams:
                kind = stream.type
                codec = stream.codec_context.codec.canonical_name if stream.codec_context \
                    else "unknown"
                attached = kind == "video" and bool(int(stream.disposition) & 0x400)
                if kind not in ("audio", "video") or attached:
                    dropped.append({"index": stream.index, "type": kind, "codec": codec})
                    continue
                plan: dict[str, Any] = {"stream": stream, "type": kind, "codec": codec,
                                        "tally": _Tally()}
                if codec in COPY_CODECS[kind] and codec in out.supported_codecs:
                    plan.update(method="copy", out=out.add_stream_from_template(stream),
                                target_codec=codec, encoder=None, settings=None, details={})
                else:
                    make = _video_encoder if kind == "video" else _audio_encoder
                    enc, name, settings, details = make(out, stream)
                    plan.update(method="encode", out=enc, encoder=name, settings=settings,
                                details=details,
                                target_codec=enc.codec_context.codec.canonical_name)
                plan["out_index"] = plan["out"].index
                plans[stream.index] = plan
            if not plans:
                raise RemuxError("the file has no audio or video stream")
            has_video = any(p["type"] == "video" for p in plans.values())

            for packet in src.demux([p["stream"] for p in plans.values()]):
                plan = plans[packet.stream.index]
                plan["tally"].add(packet)
                if plan["method"] == "copy":
                    if packet.dts is None:  # the demuxer's end-of-stream marker
                        continue
                    packet.stream = plan["out"]
                    out.mux(packet)
                    continue
                enc = plan["out"]
                for frame in packet.decode():
                    if isinstance(frame, av.VideoFrame):
                        key = bool(frame.key_frame)
                        if (frame.width, frame.height) != (
                                plan["details"]["source_width"],
                                plan["details"]["source_height"]):
                            # a recording whose size changed mid-way (screen capture)
                            plan["details"]["frames_resized"] = \
                                plan["details"].get("frames_resized", 0) + 1
                        if (frame.width, frame.height) != (enc.width, enc.height) or \
                                frame.format.name != VIDEO_PIX_FMT:
                            frame = frame.reformat(enc.width, enc.height, VIDEO_PIX_FMT)
                        # the source's key frames stay key frames; x264 picks the rest
                        frame.pict_type = PictureType.I if key else PictureType.NONE
                    out.mux(enc.encode(frame))
            for plan in plans.values():
                if plan["method"] == "encode":
                    out.mux(plan["out"].encode(None))
        except (RemuxError, av.FFmpegError) as exc:
            with suppress(Exception):  # a half-written MP4 may not close cleanly
                out.close()
            if isinstance(exc, RemuxError):
                raise
            raise RemuxError(f"the recording cannot be converted to MP4 "
                             f"({_reason(exc)})") from exc
        out.close()
    for plan in plans.values():  # PyAV objects of closed containers must not be touched
        del plan["stream"], plan["out"]

    index = {i: int(p["out_index"]) for i, p in plans.items()}
    after = _payloads(target, index.values())
    streams = [StreamDerivation(
        source_index=i, target_index=index[i], type=p["type"],
        source_codec=p["codec"], target_codec=p["target_codec"], method=p["method"],
        source_packets=p["tally"].packets, target_packets=after[index[i]].packets,
        source_payload_sha256=p["tally"].digest.hexdigest(),
        target_payload_sha256=after[index[i]].digest.hexdigest(),
        source_span=p["tally"].span, target_span=after[index[i]].span,
        encoder=p["encoder"], settings=p["settings"], details=p["details"])
        for i, p in plans.items()]
    for s in streams:
        if s.method == "copy" and not s.payload_identical:
            raise RemuxError(f"the stream copy of {s.type} stream {s.source_index} changed "
                             "its packets")
    return Remux(source_mime=fmt, mime="video/mp4" if has_video else "audio/mp4",
                 source_container=demuxer, streams=streams, dropped=dropped,
                 source_duration=_duration(s.source_span for s in streams),
                 duration=_duration(s.target_span for s in streams), tools=_tools())


# --------------------------------------------------------------------------- probing
@dataclass(frozen=True)
class Probe:
    """What a recording's container says of itself (never trusted, only reported)."""

    duration_ms: int | None  # from its packets' times (a browser's WebM has none in its header)
    created_at: datetime | None  # its creation_time tag (MP4/M4A/3GP), UTC


def probe(path: Path, *, timeout: float = 60.0) -> Probe:
    """Probe ``path`` in the same isolated child as a conversion (untrusted input:
    FFmpeg's demuxers run under a memory limit and a time limit, never in the
    server). An unreadable file, a crash or a timeout is ``Probe(None, None)``."""
    try:
        proc = subprocess.run(  # noqa: S603 - our interpreter and this file, a path we made
            [sys.executable, "-I", __file__, "--probe", str(path)], capture_output=True,
            timeout=timeout, check=False,
            env={k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL")})
    except (subprocess.TimeoutExpired, OSError):
        return Probe(None, None)
    if proc.returncode != 0:
        log.warning("probing a recording failed with status %s", proc.returncode)
        return Probe(None, None)
    data = json.loads(proc.stdout)
    created = data.get("created_at")
    return Probe(data.get("duration_ms"),
                 datetime.fromisoformat(created) if isinstance(created, str) else None)


def _probe_child(path: Path) -> dict[str, Any]:
    import av

    try:
        with av.open(str(path)) as c:
            indexes = [s.index for s in c.streams if s.type in ("audio", "video")]
            tags = [dict(c.metadata or {}), *(dict(s.metadata or {}) for s in c.streams)]
        seconds = _duration(t.span for t in _payloads(path, indexes).values())
    except (av.error.FFmpegError, OSError, ValueError):  # not a media file we can read
        return {"duration_ms": None, "created_at": None}
    created = None
    for t in tags:
        raw = t.get("creation_time") or t.get("date")
        try:
            when = datetime.fromisoformat(str(raw).replace("Z", "+00:00")) if raw else None
        except ValueError:
            continue
        if when is not None and when.year >= 1971:  # 0 in the container: no time written
            created = (when if when.tzinfo else when.replace(tzinfo=UTC)).isoformat()
            break
    return {"duration_ms": None if seconds is None else round(seconds * 1000),
            "created_at": created}


def _child(argv: list[str]) -> int:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))
        # No file it writes may outgrow this (a transcode can be larger than its
        # input): the write fails instead of filling the disk.
        resource.setrlimit(resource.RLIMIT_FSIZE, (CHILD_FILE, CHILD_FILE))
    except (ImportError, ValueError, OSError):
        pass
    if len(argv) == 2 and argv[0] == "--probe":
        print(json.dumps(_probe_child(Path(argv[1]))))
        return 0
    if len(argv) != 3:
        print("usage: remux.py SOURCE_MIME SOURCE TARGET | --probe FILE", file=sys.stderr)
        return 2
    mime, source, target = argv
    try:
        result = remux_file(mime, Path(source), Path(target))
    except RemuxError as exc:
        print(str(exc), file=sys.stderr)
        return _UNSUPPORTED_EXIT
    out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8")
    out.write(result.to_json())
    out.flush()
    return 0


__all__ = [
    "REPACKAGED",
    "SOURCES",
    "STREAM_COPY",
    "TRANSCODE",
    "TRANSCODED",
    "Probe",
    "Remux",
    "RemuxError",
    "StreamDerivation",
    "probe",
    "remux_file",
    "remuxable",
    "target_mime",
    "to_mp4",
]


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))

