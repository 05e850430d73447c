"""``python -m infoshos.spiders.sample_site [--port N]``: serve the sample site."""

from __future__ import annotations

import argparse

from .server import serve_forever


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the bundled sample site on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8765, help="port (0 picks a free one)")
    args = parser.parse_args(argv)
    serve_forever(args.port)


if __name__ == "__main__":
    main()
