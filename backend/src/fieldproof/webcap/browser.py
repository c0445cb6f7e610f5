"""One disposable desktop for one recording: Xvfb, a PulseAudio null sink, and ffmpeg.

The browser is headful on this private X display, plays its sound into a
private PulseAudio server's null sink, and ffmpeg records the display and the
sink's monitor into one MP4 (H.264 + AAC). The Playwright recorder has no
audio and drops frames, so it is not used. Everything lives in a temporary
directory and every process is killed when the desktop closes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from fieldproof.errors import WebRecorderUnavailable

WIDTH, HEIGHT = 1280, 800  # the documented window (PROTOCOL.md "Web captures")
FRAME_RATE = 25
TOOLS = ("Xvfb", "pulseaudio", "ffmpeg")


MARKER = "FIELDPROOF_WEBCAP"  # in the environment of every process of one recording


def kill_marked(value: str) -> int:
    """SIGKILL every process whose environment carries ``MARKER=value``.

    What a recorder leaves when it is killed itself (Xvfb, PulseAudio, ffmpeg
    and the browser run in their own process groups); returns how many.
    """
    needle = f"{MARKER}={value}".encode()
    killed = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                os.kill(int(entry.name), signal.SIGKILL)
                killed += 1
        except (OSError, ProcessLookupError):
            continue
    return killed


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise WebRecorderUnavailable(f"{name} is not installed on the server")
    return path


def missing_tools() -> list[str]:
    return [t for t in TOOLS if shutil.which(t) is None]


def _wait(what: str, ready: Callable[[], bool], proc: subprocess.Popen[bytes],
          timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            raise WebRecorderUnavailable(f"{what} exited with status {proc.returncode}")
        if time.monotonic() > deadline:
            raise WebRecorderUnavailable(f"{what} did not start within {timeout:.0f} s")
        time.sleep(0.05)


@dataclass
class Desktop:
    """``with Desktop(workdir) as d:`` gives ``d.env`` for the browser and ``d.record()``."""

    workdir: Path

    def __post_init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs: list[IO[bytes]] = []
        self.display = ""
        self.workdir = self.workdir.resolve()
        # PulseAudio's socket lives here: a Unix socket path has at most 108 bytes, so
        # a short private directory of the system's, not one under the data dir
        self.runtime = Path(tempfile.mkdtemp(prefix="fieldproof-rec-"))
        self.env: dict[str, str] = {}

    def __enter__(self) -> Desktop:
        if missing := missing_tools():
            raise WebRecorderUnavailable("not installed on the server: " + ", ".join(missing))
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> None:
        self.runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
        home = self.workdir / "home"
        home.mkdir(mode=0o700, exist_ok=True)
        marked = {**os.environ, MARKER: str(self.workdir.parent)}
        read_fd, write_fd = os.pipe()
        xvfb = subprocess.Popen(  # noqa: S603 - fixed arguments
            [_tool("Xvfb"), "-displayfd", str(write_fd), "-screen", "0", f"{WIDTH}x{HEIGHT}x24",
             "-nolisten", "tcp", "-noreset"],
            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, env=marked,
            stderr=self._log("xvfb.log"), start_new_session=True)
        self.procs.append(xvfb)
        os.close(write_fd)
        number = b""
        deadline = time.monotonic() + 15
        os.set_blocking(read_fd, False)
        while not number.endswith(b"\n"):
            if xvfb.poll() is not None or time.monotonic() > deadline:
                os.close(read_fd)
                raise WebRecorderUnavailable("Xvfb did not start")
            with contextlib.suppress(BlockingIOError):
                number += os.read(read_fd, 16)
            time.sleep(0.02)
        os.close(read_fd)
        self.display = ":" + number.decode().strip()
        socket_path = self.runtime / "pulse.sock"
        pulse = subprocess.Popen(  # noqa: S603 - fixed arguments
            [_tool("pulseaudio"), "--daemonize=no", "--exit-idle-time=-1", "-n",
             "--use-pid-file=no", "--disable-shm=yes",
             f"--load=module-native-protocol-unix socket={socket_path} auth-anonymous=1",
             "--load=module-null-sink sink_name=recorder rate=48000",
             "--load=module-always-sink"],
            env={**marked, "XDG_RUNTIME_DIR": str(self.runtime), "HOME": str(home)},
            stdout=subprocess.DEVNULL, stderr=self._log("pulse.log"),
            start_new_session=True)
        self.procs.append(pulse)
        _wait("PulseAudio", socket_path.exists, pulse)
        self.env = {"DISPLAY": self.display, "PULSE_SERVER": f"unix:{socket_path}",
                    "PULSE_SINK": "recorder", "XDG_RUNTIME_DIR": str(self.runtime),
                    "HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                    "TZ": "UTC", "LANG": "C.UTF-8", MARKER: str(self.workdir.parent)}

    def record(self, out: Path, max_seconds: float) -> Recording:
        """Start ffmpeg on the display and the sink's monitor; stop it with ``.stop()``."""
        cmd = [_tool("ffmpeg"), "-hide_banner", "-nostats", "-loglevel", "warning", "-y",
               "-thread_queue_size", "512", "-f", "x11grab", "-draw_mouse", "0",
               "-framerate", str(FRAME_RATE), "-video_size", f"{WIDTH}x{HEIGHT}",
               "-i", f"{self.display}+0,0",
               "-thread_queue_size", "512", "-f", "pulse", "-i", "recorder.monitor",
               "-t", f"{max_seconds:.1f}",
               "-c:v", "libx264", "-preset", "veryfast", "-crf", "30", "-pix_fmt", "yuv420p",
               "-g", str(FRAME_RATE * 2), "-c:a", "aac", "-b:a", "96k",
               "-movflags", "+faststart", str(out)]
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE,  # noqa: S603 - fixed arguments
                                stdout=subprocess.DEVNULL, stderr=self._log("ffmpeg.log"),
                                env=self.env, start_new_session=True)
        self.procs.append(proc)
        return Recording(proc, out, time.monotonic())

    def _log(self, name: str) -> IO[bytes]:
        fh = (self.workdir / name).open("wb")  # the child writes it; closed with the desktop
        self.logs.append(fh)
        return fh

    def close(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs.clear()
        shutil.rmtree(self.runtime, ignore_errors=True)
        for fh in self.logs:
            fh.close()
        self.logs.clear()


@dataclass
class Recording:
    proc: subprocess.Popen[bytes]
    path: Path
    started: float

    def stop(self) -> float:
        """Ask ffmpeg to finish the file (``q``), and return the recorded seconds."""
        if self.proc.poll() is None:
            with contextlib.suppress(BrokenPipeError, OSError):
                assert self.proc.stdin is not None
                self.proc.stdin.write(b"q")
                self.proc.stdin.flush()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(signal.SIGINT)
                self.proc.wait(timeout=10)
        if self.proc.returncode not in (0, 255) or not self.path.exists():
            raise WebRecorderUnavailable(f"ffmpeg failed with status {self.proc.returncode}")
        return time.monotonic() - self.started
