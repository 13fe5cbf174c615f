"""Errors the program reports to people, each with a message that is safe to show."""

from __future__ import annotations


class UserFacingError(Exception):
    """An error whose message can be shown as it is, to a chat member or on the command line."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(UserFacingError):
    """A setting is missing or malformed."""


class DatabaseError(UserFacingError):
    """The database cannot be opened or is not one this program can use."""


class CatalogueFormatError(UserFacingError):
    """A catalogue or schedule file cannot be read; the message names the file, record and field."""


class NotFoundError(UserFacingError):
    """Nothing matched; carries suggestions to offer instead."""

    def __init__(self, message: str, suggestions: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.suggestions = suggestions


class TalkNotFound(NotFoundError):
    """No talk matched the given title or identifier."""


class SpeakerNotFound(NotFoundError):
    """No person matched the given name."""


class EventNotFound(NotFoundError):
    """No event matched."""


class TopicNotFound(NotFoundError):
    """No topic matched."""
