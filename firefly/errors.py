"""Named errors. The library raises these; the CLI turns each into one clear line."""

from __future__ import annotations


class FireflyError(Exception):
    """Base class of every error firefly raises on purpose.

    The message is meant for a person: what went wrong and, where possible, what to do.
    """


class EventValidationError(FireflyError):
    """An event payload does not match its type (the message names the JSON path)."""


class MigrationError(FireflyError):
    """The database schema could not be brought up to date."""


class RegistryError(FireflyError):
    """A server registry (``mcpServers`` JSON) is malformed or an entry is unusable."""


class SecretInConfig(RegistryError):
    """A value that looks like a secret sits where it would be written to the log."""


class SecretFound(FireflyError):
    """What would be written or sent contains a secret value the database was given (or
    something shaped like a credential); nothing was written or sent."""


class CatalogError(FireflyError):
    """An offline tool catalog file could not be read."""


class ServerNotFound(FireflyError):
    """A command named a server the registry does not know."""


class DatabaseNotFound(FireflyError):
    """A command that only reads was given a database path where there is no file."""


class NotAFireflyDatabase(FireflyError):
    """A file given as a firefly database is not one (not SQLite, or SQLite without the log)."""


class ReadOnlyDatabase(FireflyError):
    """Something tried to write to a database that was opened read-only."""


class UnreadableEvent(FireflyError):
    """An event in the log cannot be read as its type (written outside firefly, or damaged).

    The message names its position, type, stream and id, and why it cannot be read."""


class LeaseHeld(FireflyError):
    """Another process holds the database's writer lease (the message names it)."""
