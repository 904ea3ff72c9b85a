"""Every error gradcli reports to a user, in one flat set of classes.

The library raises these; only `gradcli.cli` turns them into exit code 2 and one message on stderr
(or `{"error": {"message": ..., "where": ...}}` under `--json`).
"""

from __future__ import annotations


class GradcliError(Exception):
    """Bad input or usage: the base of every error the user sees (exit code 2)."""

    def __init__(self, message: str, where: str | None = None, detail: str | None = None):
        super().__init__(message)
        self.message = message
        self.where = where
        self.detail = detail

    def render(self) -> str:
        """The whole message as printed on stderr: 'where: message' and an optional detail block."""
        head = f"{self.where}: {self.message}" if self.where else self.message
        return f"{head}\n{self.detail}" if self.detail else head

    def __reduce__(self):
        """Pickle every attribute (a job in gradcli.prefork's child process sends its error back whole)."""
        return _restore, (type(self), self.args, self.__dict__)

    def to_json(self) -> dict:
        out = {"message": self.message, "where": self.where}
        if self.detail:
            out["detail"] = self.detail
        return out


class ParseError(GradcliError):
    """An expression that is not in the language: syntax, unknown name, limits."""

    def __init__(self, message: str, text: str, column: int, hint: str | None = None):
        self.text = text
        self.column = column
        caret = _caret(text, column)
        detail = caret if hint is None else f"{caret}\n{hint}"
        super().__init__(message, where=f"column {column + 1}", detail=detail)
        self.hint = hint


class DomainError(GradcliError):
    """A function evaluated outside its domain at the given point (ln 0, sqrt(-1), 1/0)."""


class OverflowValueError(GradcliError):
    """A value that is not finite in float64 (exp(1000), nan or inf input)."""


class ShapeError(GradcliError):
    """Operands whose shapes do not fit the operation; the message names both shapes."""


class BindingError(GradcliError):
    """Missing, extra or malformed values for variables (`--at`, `--where`, `--shape`)."""


class DefinitionError(GradcliError):
    """Intermediate definitions that cycle or are defined twice."""


class SpecError(GradcliError):
    """A network spec or problem file that does not validate; `where` is the YAML path and line."""


class TimeBoundError(GradcliError):
    """A symbolic step that did not finish within its time bound and has no fallback."""


def _restore(cls: type, args: tuple, state: dict) -> GradcliError:
    err = cls.__new__(cls)
    Exception.__init__(err, *args)
    err.__dict__.update(state)
    return err


def _caret(text: str, column: int) -> str:
    """The expression with a caret under `column` (0-based); long text is cut around the column."""
    line = text.replace("\n", " ").replace("\t", " ")
    start = 0
    if len(line) > 76:
        start = max(0, min(column - 38, len(line) - 76))
        line = line[start:start + 76]
    return f"  {line}\n  {' ' * (column - start)}^"
