"""Serve a generated synthetic site (``bench/synthetic.py``) on 127.0.0.1.

    .venv/bin/python bench/serve.py SITE_DIR [--port 8080]     # Ctrl-C stops it

nginx (a generated config in a temporary folder: loopback only, 2 workers, no access log, the
charset header per file) when it is installed; otherwise a ThreadingHTTPServer with a loud
warning: Python's server cannot keep up with a concurrent crawl, so its figures are not crawl
figures. Install nginx on Debian/Ubuntu with ``apt-get install -y nginx-light`` (or ``nginx``).

URL -> file (the same rules in the nginx config and in :func:`route`):

- ``/infoshos/{en,ru}/?idn=N`` -> ``infoshos/{lang}/a/N.html`` (cp1251 header) or ``.../n/N.html``
  (no charset in the header); ``/infoshos/{lang}/news/?page=N`` -> ``.../news/p/N.html``;
- ``/sectsco/{ed}/news/?offset=N`` -> ``.../news/o/N.html``; ``/sectsco/{ed}/news/D/ID.html`` (the
  alias) -> ``/sectsco/{ed}/D/ID.html``; everything else: the file of that path.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from infoshos.spiders.sample_site.loopback import Loopback, LoopbackHTTPServer, StartStop

INSTALL_HINT = "install it with: apt-get update && apt-get install -y nginx-light (or nginx)"
CP1251 = "text/html; charset=windows-1251"
UTF8 = "text/html; charset=utf-8"

NGINX_CONF = """\
{user}worker_processes 2;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
daemon off;
events {{ worker_connections 2048; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  types {{ text/html html; application/rss+xml xml; text/plain txt; }}
  default_type application/octet-stream;
  charset_types application/rss+xml text/plain;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  server_tokens off;
  server {{
    listen 127.0.0.1:{port};
    root {root};
    location = /robots.txt {{ charset utf-8; }}
    location = /manifest.json {{ return 404; }}
    location /infoshos/ {{ charset windows-1251; }}
    location = /infoshos/en/ {{
      charset windows-1251;
      if ($arg_idn !~ "^[0-9]+$") {{ return 404; }}
      try_files /infoshos/en/a/$arg_idn.html =404;
    }}
    location = /infoshos/ru/ {{
      charset windows-1251;
      if ($arg_idn !~ "^[0-9]+$") {{ return 404; }}
      try_files /infoshos/ru/a/$arg_idn.html @ru_nocharset;
    }}
    location @ru_nocharset {{
      charset off;
      try_files /infoshos/ru/n/$arg_idn.html =404;
    }}
    location ~ ^/infoshos/(?<lang>en|ru)/news/$ {{
      charset windows-1251;
      if ($arg_page !~ "^[0-9]+$") {{ return 404; }}
      try_files /infoshos/$lang/news/p/$arg_page.html =404;
    }}
    location /sectsco/ {{ charset utf-8; }}
    location ~ ^/sectsco/(?<ed>eng|rus)/news/$ {{
      charset utf-8;
      if ($arg_offset !~ "^[0-9]+$") {{ return 404; }}
      try_files /sectsco/$ed/news/o/$arg_offset.html =404;
    }}
    location ~ "^/sectsco/(eng|rus)/news/([0-9]{{8}})/([0-9]+)\\.html$" {{
      charset utf-8;
      try_files /sectsco/$1/$2/$3.html =404;
    }}
  }}
}}
"""


def nginx_binary() -> str | None:
    """The nginx executable, or None (also looks in /usr/sbin, often not on PATH)."""
    found = shutil.which("nginx")
    if found:
        return found
    for cand in ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"):
        if os.access(cand, os.X_OK):
            return cand
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes] | None, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return True
        time.sleep(0.05)
    return False


def _user_line(root: Path) -> str:
    """Started as root, nginx workers run as ``nobody`` and cannot read a site in a private
    folder (pytest's tmp_path is 0700): let them run as the site's owner instead."""
    if os.geteuid() != 0:
        return ""
    import grp
    import pwd

    st = root.stat()
    return f"user {pwd.getpwuid(st.st_uid).pw_name} {grp.getgrgid(st.st_gid).gr_name};\n"


_IDN = re.compile(r"^/infoshos/(en|ru)/$")
_ILIST = re.compile(r"^/infoshos/(en|ru)/news/$")
_SLIST = re.compile(r"^/sectsco/(eng|rus)/news/$")
_ALIAS = re.compile(r"^/sectsco/(eng|rus)/news/(\d{8})/(\d+)\.html$")


def _arg(query: str, name: str) -> str | None:
    values = parse_qs(query).get(name)
    return values[0] if values and values[0].isdigit() else None


def route(root: Path, target: str) -> tuple[Path, str] | None:
    """The file and Content-Type served for a request target (the nginx rules, in Python)."""
    parts = urlsplit(target)
    path, query = parts.path, parts.query
    if ".." in path or path == "/manifest.json":
        return None
    if m := _IDN.match(path):
        idn = _arg(query, "idn")
        if idn is None:
            return None
        lang = m.group(1)
        with_charset = root / f"infoshos/{lang}/a/{idn}.html"
        if with_charset.is_file():
            return with_charset, CP1251
        return (root / f"infoshos/{lang}/n/{idn}.html", "text/html")
    if m := _ILIST.match(path):
        page = _arg(query, "page")
        return (
            None if page is None else (root / f"infoshos/{m.group(1)}/news/p/{page}.html", CP1251)
        )
    if m := _SLIST.match(path):
        off = _arg(query, "offset")
        return None if off is None else (root / f"sectsco/{m.group(1)}/news/o/{off}.html", UTF8)
    if m := _ALIAS.match(path):
        return root / f"sectsco/{m.group(1)}/{m.group(2)}/{m.group(3)}.html", UTF8
    file = root / path.lstrip("/")
    if path == "/robots.txt":
        return file, "text/plain; charset=utf-8"
    if path.startswith("/infoshos/rss/"):
        return file, "application/rss+xml; charset=windows-1251"
    if path.startswith("/infoshos/"):
        return file, CP1251
    if path.startswith("/sectsco/"):
        return file, UTF8
    return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "infoshos-bench"
    root: Path

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def _send(self, with_body: bool) -> None:
        found = route(self.root, self.path)
        body: bytes | None = None
        if found is not None:
            with contextlib.suppress(OSError):
                body = found[0].read_bytes()
        status, ctype = (200, found[1]) if body is not None and found else (404, "text/html")
        if body is None:
            body = b"<html><body><h1>404 Not Found</h1></body></html>"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def do_GET(self) -> None:
        self._send(True)

    def do_HEAD(self) -> None:
        self._send(False)


class _ThreadingServer(LoopbackHTTPServer):
    request_queue_size = 1024


class StaticSite(StartStop):
    """Context manager serving ``root`` on 127.0.0.1; ``kind`` is ``nginx`` or ``python``.

    ``prefer="python"`` forces the fallback (tests). ``pids()`` are the server's processes (to
    leave out of the pipeline's memory figures).
    """

    def __init__(self, root: str | os.PathLike[str], port: int = 0, prefer: str = "nginx") -> None:
        self.root = Path(root).resolve()
        self.port = port
        self.prefer = prefer
        self.kind = ""
        self.base_url = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._tmp: str | None = None
        self._loop: Loopback | None = None

    def pids(self) -> set[int]:
        return {self._proc.pid} if self._proc is not None else set()

    def start(self) -> None:
        binary = nginx_binary() if self.prefer == "nginx" else None
        if self.prefer == "nginx" and binary is None:
            msg = f"nginx not found: serving with Python's ThreadingHTTPServer; {INSTALL_HINT}"
            warnings.warn(msg, stacklevel=2)
            print(f"WARNING: {msg}. Crawl figures against it are NOT comparable.", file=sys.stderr)
        if binary is not None:
            for _attempt in range(3):  # a free port can be taken between probe and bind
                if self._start_nginx(binary):
                    return
            err = Path(f"{self._tmp}/stderr.log")
            tail = err.read_text("utf-8", "replace").strip()[-500:] if err.exists() else ""
            raise RuntimeError(f"nginx did not start ({self._tmp}): {tail}")
        self._start_python()

    def _start_nginx(self, binary: str) -> bool:
        self._cleanup_tmp()
        self._tmp = tempfile.mkdtemp(prefix="infoshos-nginx-")
        os.chmod(self._tmp, 0o755)
        port = self.port or free_port()
        conf = Path(self._tmp) / "nginx.conf"
        conf.write_text(
            NGINX_CONF.format(tmp=self._tmp, port=port, root=self.root, user=_user_line(self.root)),
            "utf-8",
        )
        self._proc = subprocess.Popen(
            [binary, "-p", self._tmp, "-c", str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=(Path(self._tmp) / "stderr.log").open("wb"),
            start_new_session=True,
        )
        if _wait_port(port, self._proc):
            self.kind, self.port, self.base_url = "nginx", port, f"http://127.0.0.1:{port}"
            return True
        self._stop_nginx()
        return False

    def _start_python(self) -> None:
        handler = type("Handler", (_Handler,), {"root": self.root})
        self._loop = Loopback(_ThreadingServer(handler, self.port), "static-site").start()
        self.port = self._loop.server.port
        self.kind, self.base_url = "python", self._loop.base_url

    def _stop_nginx(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # nginx: fast shutdown, the master stops its workers
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)  # its own session: master + workers
                proc.wait(timeout=10)

    def _cleanup_tmp(self) -> None:
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def stop(self) -> None:
        self._stop_nginx()
        self._cleanup_tmp()
        if self._loop is not None:
            self._loop.stop()
            self._loop = None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("site")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--python", action="store_true", help="force the ThreadingHTTPServer")
    args = p.parse_args(argv)
    with StaticSite(args.site, args.port, prefer="python" if args.python else "nginx") as site:
        print(f"serving {args.site} with {site.kind} at {site.base_url}/ (Ctrl-C stops)")
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
    return 0


if __name__ == "__main__":
    sys.exit(main())
