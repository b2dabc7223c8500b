"""Where the file parts of a multipart request go while it is parsed.

Werkzeug spools every uploaded file to a temporary file on disk once it passes 500 KB, in clear.
For some routes that is not acceptable (the evidence store keeps files encrypted at rest: the
plaintext must never reach the disk). A domain registers a *sink* for its route's endpoint with
:func:`register_sink`; :class:`StreamingRequest` (the app's request class, installed by
:func:`install`) hands each file part of such a request to the sink as it arrives, in pieces, so
the route decides what touches the disk. The form is parsed before the view runs (Flask-WTF's CSRF
check reads it), which is why the choice is made by endpoint, known once the URL is matched.

A sink also sets the route's request size limit (its files plus the form's other fields); the
rest of the app keeps ``MAX_CONTENT_LENGTH``. Routes without a sink keep werkzeug's behaviour.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from flask import Flask, Request, current_app

# (total content length, content type, file name, content length) → a writable binary file object
StreamFactory = Callable[[int | None, str | None, str | None, int | None], IO[bytes]]

FORM_OVERHEAD = 1024 * 1024  # the other fields of an upload form, and the multipart boundaries


@dataclass(frozen=True)
class Sink:
    factory: StreamFactory
    max_bytes: Callable[[], int]  # the largest file the route accepts (read at request time)


SINKS: dict[str, Sink] = {}


def register_sink(endpoint: str, factory: StreamFactory, max_bytes: Callable[[], int]) -> None:
    SINKS[endpoint] = Sink(factory, max_bytes)


class StreamingRequest(Request):
    """Flask's request, with the file parts of registered endpoints streamed into their sink."""

    def _sink(self) -> Sink | None:
        return SINKS.get(self.endpoint or "") if self.url_rule is not None else None

    @property
    def max_content_length(self) -> int | None:  # type: ignore[override]
        sink = self._sink()
        if sink is not None:
            return sink.max_bytes() + FORM_OVERHEAD
        return super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        sink = self._sink()
        if sink is not None:
            return sink.factory(total_content_length, content_type, filename, content_length)
        return super()._get_file_stream(total_content_length, content_type, filename, content_length)


def install(app: Flask) -> None:
    """Make :class:`StreamingRequest` the app's request class (a no-op when it already is)."""
    if not issubclass(app.request_class, StreamingRequest):
        if app.request_class is not Request and not issubclass(StreamingRequest, app.request_class):
            raise RuntimeError(f"core.uploads: the app already has its own request class {app.request_class}")
        app.request_class = StreamingRequest


def current_max_bytes(key: str, default: int) -> int:
    value: Any = current_app.config.get(key, default)
    return int(value)
