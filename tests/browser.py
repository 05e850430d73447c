"""Find and run a headless Chromium for tests that look at the HTML report as a browser draws it.

``find_chromium()`` looks for ``/usr/bin/chromium`` then ``chromium`` and ``chromium-browser`` on
PATH (``.ci/install-chromium`` installs Debian's package). Every run gets a fresh, temporary
profile and home folder, no network features, and a bounded time: on timeout the browser's whole
process group (only the processes this module started) is killed and ``BrowserError`` raised.

``dump_dom`` returns the DOM after rendering (``--dump-dom``), ``screenshot`` writes a PNG
(``--screenshot``); ``read_png`` / ``write_png`` decode and encode the 8-bit RGB(A),
non-interlaced PNGs Chromium writes, with zlib and numpy only (Pillow is not a dependency).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import struct
import subprocess
import tempfile
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)
WINDOW = (1400, 3000)
TIMEOUT = 90.0

Image = npt.NDArray[np.uint8]


class BrowserError(RuntimeError):
    """Chromium failed, timed out or wrote nothing."""


def find_chromium() -> str | None:
    """The path of a Chromium executable, or None."""
    for name in CANDIDATES:
        if os.sep in name:
            if os.path.isfile(name) and os.access(name, os.X_OK):
                return name
        elif found := shutil.which(name):
            return found
    return None


def in_ci() -> bool:
    """True when the environment says CI (``CI=true``): a missing browser must fail, not skip."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def file_url(path: Path) -> str:
    return Path(path).resolve().as_uri()


def run_chromium(
    args: Sequence[str],
    url: str,
    *,
    browser: str | None = None,
    window: tuple[int, int] = WINDOW,
    timeout: float = TIMEOUT,
) -> bytes:
    """Run headless Chromium on ``url`` with ``args``; its stdout, or BrowserError."""
    exe = browser or find_chromium()
    if exe is None:
        raise BrowserError("Chromium not found (tried: " + ", ".join(CANDIDATES) + ")")
    with tempfile.TemporaryDirectory(prefix="infoshos-chromium-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        cmd = [
            exe,
            *FLAGS,
            f"--user-data-dir={Path(tmp) / 'profile'}",
            f"--window-size={window[0]},{window[1]}",
            *args,
            url,
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "DBUS_"))}
        env |= {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
        env |= {"XDG_CACHE_HOME": str(home / ".cache"), "LANG": "C.UTF-8"}
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,  # its own process group: a timeout kills all its children
        )
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            proc.communicate()
            raise BrowserError(f"Chromium timed out after {timeout:g} s: {' '.join(cmd)}") from None
        finally:
            if proc.poll() is None:
                _kill_group(proc)
                proc.wait()
        if proc.returncode != 0:
            tail = err.decode("utf-8", "replace")[-2000:]
            raise BrowserError(f"Chromium exited with {proc.returncode}: {' '.join(cmd)}\n{tail}")
        return out


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def dump_dom(
    url: str,
    *,
    browser: str | None = None,
    window: tuple[int, int] = WINDOW,
    timeout: float = TIMEOUT,
) -> str:
    """The serialised DOM of ``url`` after it loaded (scripts run, layout done)."""
    out = run_chromium(["--dump-dom"], url, browser=browser, window=window, timeout=timeout)
    text = out.decode("utf-8")
    if "<html" not in text.lower():
        raise BrowserError(f"Chromium dumped no DOM for {url}: {text[:200]!r}")
    return text


def screenshot(
    url: str,
    out: Path,
    *,
    browser: str | None = None,
    window: tuple[int, int] = WINDOW,
    timeout: float = TIMEOUT,
) -> Path:
    """A PNG of the top of ``url``, as large as the window (``window=(width, height)``)."""
    out = Path(out)
    out.unlink(missing_ok=True)
    args = [f"--screenshot={out.resolve()}"]
    run_chromium(args, url, browser=browser, window=window, timeout=timeout)
    if not out.is_file() or out.stat().st_size == 0:
        raise BrowserError(f"Chromium wrote no screenshot {out}")
    return out


# -- PNG ------------------------------------------------------------------------------------
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def read_png(path: Path) -> Image:
    """Decode an 8-bit RGB or RGBA non-interlaced PNG into an (height, width, 3|4) array."""
    data = Path(path).read_bytes()
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError(f"{path}: not a PNG")
    pos, header, idat = len(PNG_SIGNATURE), b"", []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        if zlib.crc32(kind + body) != crc:
            raise ValueError(f"{path}: bad CRC in {kind!r}")
        pos += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if depth != 8 or ctype not in (2, 6) or interlace:
        raise ValueError(f"{path}: only 8-bit RGB/RGBA non-interlaced PNGs (got {depth}/{ctype})")
    bpp = 3 if ctype == 2 else 4
    stride = width * bpp
    raw = zlib.decompress(b"".join(idat))
    if len(raw) != height * (stride + 1):
        raise ValueError(f"{path}: {len(raw)} bytes of image data, want {height * (stride + 1)}")
    img = np.empty((height, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.uint8)
    for y in range(height):
        start = y * (stride + 1)
        kind_ = raw[start]
        line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=start + 1)
        if kind_ == 0:  # None
            cur = line.copy()
        elif kind_ == 1:  # Sub: a running sum per channel, modulo 256
            cur = line.reshape(width, bpp).cumsum(axis=0, dtype=np.uint8).reshape(stride)
        elif kind_ == 2:  # Up
            cur = line + prev
        elif kind_ in (3, 4):  # Average, Paeth: each byte depends on the one to its left
            cur = np.frombuffer(_unfilter_row(kind_, line.tobytes(), prev.tobytes(), bpp), np.uint8)
        else:
            raise ValueError(f"{path}: unknown filter {kind_} in row {y}")
        img[y] = cur
        prev = img[y]
    return img.reshape(height, width, bpp)


def _unfilter_row(kind: int, line: bytes, prev: bytes, bpp: int) -> bytearray:
    cur = bytearray(line)
    for i in range(len(cur)):
        a = cur[i - bpp] if i >= bpp else 0
        b = prev[i]
        if kind == 3:
            cur[i] = (cur[i] + ((a + b) >> 1)) & 0xFF
            continue
        c = prev[i - bpp] if i >= bpp else 0
        p = a + b - c
        pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
        pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
        cur[i] = (cur[i] + pred) & 0xFF
    return cur


def write_png(path: Path, img: Image) -> Path:
    """Encode an (height, width, 3|4) uint8 array as a PNG (the Up filter: small for pages)."""
    height, width, channels = img.shape
    if img.dtype != np.uint8 or channels not in (3, 4):
        raise ValueError("want an (h, w, 3|4) uint8 array")
    rows = np.ascontiguousarray(img).reshape(height, width * channels)
    up = rows.copy()
    up[1:] = rows[1:] - rows[:-1]  # uint8 arithmetic wraps modulo 256, as PNG wants
    raw = np.concatenate([np.full((height, 1), 2, dtype=np.uint8), up], axis=1).tobytes()

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2 if channels == 3 else 6, 0, 0, 0)
    path = Path(path)
    path.write_bytes(
        PNG_SIGNATURE
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )
    return path
