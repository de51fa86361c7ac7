"""What a proof found: each brief checked (:class:`Checked`) and the run's whole result
(:class:`ProofResult`), which :mod:`helpers.proof.run` makes and :mod:`helpers.proof.report`
writes out. A module of its own so that the report needs nothing of the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from helpers.proof import grid
from helpers.proof.rules import Violation

__all__ = ["Checked", "ProofResult"]


@dataclass
class Checked:
    """One brief of the proof: where it is, and what the rules found."""

    point: grid.Point
    run_dir: Path | None = None
    violations: list[Violation] = field(default_factory=list)
    error: str | None = None
    pdf: Path | None = None


@dataclass
class ProofResult:
    """What a proof run did and found."""

    out_dir: Path
    report: Path
    grid_size: int
    distinct: int
    briefs: list[Checked]
    render_seconds: float
    check_seconds: float
    #: What the run could not check, and why (a missing browser, say).
    notes: list[str] = field(default_factory=list)

    @property
    def violations(self) -> list[Violation]:
        return [v for brief in self.briefs for v in brief.violations]

    @property
    def failed(self) -> list[Checked]:
        return [brief for brief in self.briefs if brief.error]

    @property
    def exit_code(self) -> int:
        return 1 if self.violations or self.failed else 0

    def summary(self) -> str:
        """One line: briefs, violations by rule, failures, time, where the report is."""
        counts: dict[str, int] = {}
        for v in self.violations:
            counts[v.rule] = counts.get(v.rule, 0) + 1
        rules = ", ".join(f"{rule} {n}" for rule, n in counts.items())
        failed = f", {len(self.failed)} failed to render" if self.failed else ""
        found = f"{len(self.violations)} violations ({rules})" if counts else "no violations"
        return (
            f"proof: {len(self.briefs)} briefs, {found}{failed}; rendered in "
            f"{self.render_seconds:.0f} s, checked in {self.check_seconds:.0f} s; {self.report}"
        )
