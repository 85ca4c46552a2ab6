"""Errors of the retrieval stage: a protocol or version the index does not hold."""

from __future__ import annotations

from labs.errors import TrialGuardError


class UnknownProtocolError(TrialGuardError):
    """The protocol id (or the version) was never ingested completely; the message lists what is there."""


class NoVersionInForceError(TrialGuardError):
    """The date is before the effective date of every ingested version of the protocol."""
