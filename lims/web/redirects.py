"""The one check a ``next`` address passes before the app sends anyone there (after
signing in, an action form's Cancel and its redirect when done): a path on this site only.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

# A value still changing after this many decodings is refused, not decoded further.
MAX_DECODINGS = 3


def _unsafe(form: str) -> bool:
    """Browsers drop tabs and newlines from a URL and read ``\\`` as ``/``, so ``/\\t/evil``
    and ``/\\evil`` become ``//evil``: another site. Control characters and backslashes are
    refused outright, as is anything but a single ``/`` at the start, a scheme or a host."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in form) or "\\" in form:
        return True
    if not form.startswith("/") or form.startswith("//"):
        return True
    parts = urlsplit(form)
    return bool(parts.scheme or parts.netloc)


def local_target(target: str | None) -> str | None:
    """``target`` when it is a path on this site, else None. It is checked as given and as
    each further percent-decoding would read it (``%2509`` is a tab two decodings on)."""
    if not target:
        return None
    form = target
    for _ in range(MAX_DECODINGS):
        if _unsafe(form):
            return None
        decoded = unquote(form)
        if decoded == form:
            return target
        form = decoded
    return None
