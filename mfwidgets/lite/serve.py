"""A tiny static server for the site, with the MIME types browsers insist on.

    python -m mfwidgets.lite.serve DIR [--port 8000] [--prefix /course/lite/]

Any static host works if it sends ``.wasm`` as ``application/wasm`` (or Pyodide cannot compile
its runtime) and ``.mjs``/``.js`` as ``text/javascript`` (or modules are refused). ``--prefix``
serves the site under a sub-path, as a course page would; the browser tests use it.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import sys
from collections.abc import Sequence
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MIME_TYPES = {
    ".wasm": "application/wasm",
    ".mjs": "text/javascript",
    ".js": "text/javascript",
    ".json": "application/json",
    ".ipynb": "application/json",
    ".whl": "application/octet-stream",
    ".zip": "application/zip",
    ".md": "text/markdown",
}


class SiteHandler(SimpleHTTPRequestHandler):
    """Files of the site under ``prefix``; anything else is a 404."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}
    prefix = "/"

    def translate_path(self, path: str) -> str:
        if not path.startswith(self.prefix):
            return str(Path(self.directory) / "..." / "outside-the-prefix")  # no such file: 404
        return super().translate_path("/" + path[len(self.prefix) :])

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: a site load is hundreds of requests


def normalize_prefix(prefix: str) -> str:
    return "/" + prefix.strip("/") + "/" if prefix.strip("/") else "/"


def make_server(directory: Path, host: str = "127.0.0.1", port: int = 0, prefix: str = "/") -> Any:
    """A server (not yet serving) for ``directory`` under ``prefix``; port 0 picks a free one."""
    handler = type("Handler", (SiteHandler,), {"prefix": normalize_prefix(prefix)})
    return ThreadingHTTPServer((host, port), functools.partial(handler, directory=str(directory)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mfwidgets.lite.serve", description=__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--prefix", default="/")
    args = parser.parse_args(argv)
    server = make_server(args.directory, args.host, args.port, args.prefix)
    host, port = server.server_address[:2]
    print(f"serving {args.directory} at http://{host}:{port}{normalize_prefix(args.prefix)}")
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
