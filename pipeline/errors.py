"""The two kinds of error a user sees: a bad document and a bad rule.

Both render as one line that names where the problem is, so a batch can
report them without a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


class ZhextractError(Exception):
    """Base class of errors that are shown to the user as one line."""


class DocumentError(ZhextractError):
    """A document that cannot be processed; the batch records it and goes on."""

    def __init__(self, path: str, stage: str, msg: str) -> None:
        self.path = str(path)
        self.stage = stage
        self.msg = msg
        super().__init__(f"{self.path}: {stage}: {msg}")


@dataclass(frozen=True)
class RuleProblem:
    """One problem in a rule file: ``path:line: rule ID: message``."""

    path: str
    line: int
    rule_id: str
    msg: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}"
        if self.rule_id:
            return f"{where}: rule {self.rule_id}: {self.msg}"
        return f"{where}: {self.msg}"


class RuleError(ZhextractError):
    """Every problem found in the rule files, reported all at once."""

    def __init__(self, problems: list[RuleProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
