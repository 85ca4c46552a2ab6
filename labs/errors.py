"""The project's own error types: every failure a user can cause is one of these, with a clear message."""


class TrialGuardError(Exception):
    """Base of every error TrialGuard raises on purpose (bad input, bad configuration)."""


class UnknownAnalyteError(TrialGuardError):
    """A test name that matches no analyte in the catalog; the message names the closest entries."""


class UnitError(TrialGuardError):
    """A unit that cannot be parsed, or a conversion that cannot be done without guessing."""


class MissingConstantError(UnitError):
    """A conversion that needs a constant of the analyte the catalog lacks (molar mass, valence) or no analyte."""


class ConfigError(TrialGuardError):
    """A setting with a value that cannot work; raised at construction, naming the setting."""


class DocumentError(TrialGuardError):
    """A document (protocol, lab manual, lab file) that cannot be read; names the file and the reason."""

    def __init__(self, path: object, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")
