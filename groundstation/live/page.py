"""The live page: a small web server on 127.0.0.1 showing a session as it happens.

In: a :class:`~groundstation.live.bus.LiveBus` that the session publishes to (its facts,
margins and command log, then each band's waterfall rows and receiver events, then the
end). Out: ``GET /`` the page (a Jinja2 template, autoescaped; the drawing is
``live.js``), ``GET /events`` the records as server-sent events (everything so far, then
each as it is published; the stream closes after the ``end`` record), ``GET /state`` the
records so far as one JSON list (for a page that polls), ``GET /live.js``.

The server binds 127.0.0.1 only unless asked otherwise, serves each page from its own
thread, and bounds every wait (a page that stops reading is dropped).
"""

from __future__ import annotations

import contextlib
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any, Final

from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined

from groundstation.io.files import leave_interrupts_to_main_thread
from groundstation.live.bus import LiveBus

#: Longest a page's event stream waits before sending a keep-alive comment (s).
KEEPALIVE_S: Final = 5.0
#: Longest a write to a page may block (s).
WRITE_TIMEOUT_S: Final = 10.0


def _templates() -> Environment:
    return Environment(
        # The live page extends the report's base page (its head), with a style of its own.
        loader=ChoiceLoader(
            [
                PackageLoader("groundstation.live", "templates"),
                PackageLoader("groundstation.report", "templates"),
            ]
        ),
        autoescape=True,
        undefined=StrictUndefined,
    )


def render_page(title: str, facts: dict[str, Any]) -> str:
    """The page's HTML: the title and the session's facts; the rest comes from the feed."""
    return _templates().get_template("live.html").render(title=title, facts=facts)


def _is_end(text: str) -> bool:
    return '"kind":"end"' in text


class _Handler(BaseHTTPRequestHandler):
    server: LiveServer

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: the terminal shows the session, not the requests

    def _send(self, body: bytes, content_type: str) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/":
            self._send(self.server.page.encode("utf-8"), "text/html; charset=utf-8")
        elif path == "/live.js":
            script = resources.files("groundstation.live").joinpath("templates/live.js")
            self._send(script.read_bytes(), "text/javascript; charset=utf-8")
        elif path == "/state":
            body = "[" + ",".join(self.server.bus.history()) + "]"
            self._send(body.encode("utf-8"), "application/json")
        elif path == "/events":
            self._events()
        elif path == "/favicon.ico":
            self.send_response(HTTPStatus.NO_CONTENT)
            self.end_headers()
        else:
            self.send_error(HTTPStatus.NOT_FOUND)

    def _events(self) -> None:
        self.connection.settimeout(WRITE_TIMEOUT_S)
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        history, reader = self.server.bus.subscribe()
        try:
            self.wfile.write(b"retry: 500\n\n")  # a dropped feed is retried quickly
            self._write(history)
            over = any(_is_end(text) for text in history)
            while not over and not self.server.stopping.is_set():
                items = reader.get(KEEPALIVE_S)
                if items:
                    self._write(items)
                    over = any(_is_end(text) for text in items)
                elif reader.closed:
                    break
                else:
                    self.wfile.write(b": keep-alive\n\n")
                    self.wfile.flush()
        except (OSError, ValueError):
            pass  # the page went away
        finally:
            self.server.bus.unsubscribe(reader)

    def _write(self, items: list[str]) -> None:
        if items:
            self.wfile.write("".join(f"data: {text}\n\n" for text in items).encode("utf-8"))
            self.wfile.flush()


class LiveServer(ThreadingHTTPServer):
    """The live page's server (use :func:`serve`)."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], bus: LiveBus, page: str):
        super().__init__(address, _Handler)
        self.bus = bus
        self.page = page
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="live page", daemon=True)

    def _serve(self) -> None:
        leave_interrupts_to_main_thread()
        self.serve_forever()

    def process_request(self, request, client_address) -> None:
        """Serve each page from a thread of its own, which leaves interrupts to the main one."""

        def serve_one() -> None:
            leave_interrupts_to_main_thread()
            self.process_request_thread(request, client_address)

        thread = threading.Thread(target=serve_one, daemon=True)
        thread.start()

    @property
    def url(self) -> str:
        """Where the page is."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> LiveServer:
        """Serve from a thread of its own."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (open pages' streams end within :data:`KEEPALIVE_S`)."""
        self.stopping.set()
        self.bus.close()
        with contextlib.suppress(Exception):
            self.shutdown()
        self.server_close()


def serve(
    bus: LiveBus, title: str, facts: dict[str, Any], host: str = "127.0.0.1", port: int = 0
) -> LiveServer:
    """Start the live page's server on ``host:port`` (port 0: one the system picks)."""
    return LiveServer((host, port), bus, render_page(title, facts)).start()
