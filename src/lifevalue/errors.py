"""The error hierarchy: every user-facing failure is a :class:`LifevalueError`."""

from __future__ import annotations


class LifevalueError(Exception):
    """Base class of the errors lifevalue raises for problems the user can fix."""


class InputError(LifevalueError):
    """Bad input data, with the place it was found (file, line, column) when known.

    Parameters
    ----------
    reason
        What is wrong, in plain words.
    file, line, column
        Where it was found; ``line`` is 1-based and counts the header line.
    hint
        What to do about it.
    """

    def __init__(
        self,
        reason: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.reason = reason
        self.file = file
        self.line = line
        self.column = column
        self.hint = hint
        super().__init__(self.format())

    def format(self) -> str:
        """The message as one line: ``file:line: column 'c': reason (hint)``."""
        where = ""
        if self.file is not None:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
            where += ": "
        col = f"column '{self.column}': " if self.column is not None else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{where}{col}{self.reason}{hint}"


class ConfigError(LifevalueError):
    """An option or setting that cannot be used as given."""


class NotFittedError(LifevalueError):
    """A model was asked for predictions before ``fit`` was called."""


class ConvergenceError(LifevalueError):
    """A model fit did not converge; the message says why and what to try."""


class InsufficientDataError(ConvergenceError):
    """The data cannot identify the model (e.g. no repeat buyers); the message names a fallback."""


class IdentificationWarning(UserWarning):
    """A fit reached the maximum of the likelihood, but the data do not pin down every parameter
    (the likelihood is flat along some direction there): the estimates are one point of a ridge
    of equally likely ones and the standard errors of the parameters involved are undefined.
    The model's ``fit_notes_`` say which parameters; the CLI shows them as notes."""
