"""Text sent with parse_mode=HTML, read as Telegram reads it (and refused where it refuses)."""

from __future__ import annotations

import re

from tests.fakes.bot_api.wire import ApiError

# Tags Telegram accepts with parse_mode=HTML; anything else (notably <br>) is a 400.
_HTML_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
    }
)
_HTML_TAG_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)(\s[^<>]*)?>")
_HTML_ENTITY_RE = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9A-Fa-f]+);")
_HTML_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def _html_error(text: str, position: int, reason: str) -> ApiError:
    offset = len(text[:position].encode("utf-8"))
    return ApiError(400, f"Bad Request: can't parse entities: {reason} at byte offset {offset}")


def _unescape_html(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("#x"):
            return chr(int(name[2:], 16))
        if name.startswith("#"):
            return chr(int(name[1:]))
        return _HTML_NAMED_ENTITIES[name]

    return _HTML_ENTITY_RE.sub(replace, text)


def parse_html(text: str) -> str:
    """The text a resident sees for a parse_mode=HTML message; ApiError where Telegram refuses.

    Checks what Telegram checks and bots get wrong: unsupported tags (``<br>``), a bare ``<``
    from unescaped user input, and tags left open or closed out of order.
    """
    plain: list[str] = []
    open_tags: list[str] = []
    position = 0
    while (start := text.find("<", position)) != -1:
        plain.append(text[position:start])
        match = _HTML_TAG_RE.match(text, start)
        if match is None:
            raise _html_error(text, start, "Unexpected end of name token")
        closing, name = match.group(1) == "/", match.group(2).lower()
        if name not in _HTML_TAGS:
            kind = "end" if closing else "start"
            raise _html_error(text, start, f'Unsupported {kind} tag "{name}"')
        if closing:
            if not open_tags or open_tags[-1] != name:
                raise _html_error(text, start, f'Unmatched end tag "{name}"')
            open_tags.pop()
        else:
            open_tags.append(name)
        position = match.end()
    plain.append(text[position:])
    if open_tags:
        reason = f'Can\'t find end tag corresponding to start tag "{open_tags[-1]}"'
        raise ApiError(400, f"Bad Request: can't parse entities: {reason}")
    return _unescape_html("".join(plain))
