"""The proof run: render every brief the parameters can make, and check each against the
rules an editor applies (``brief proof``; see ``docs/proof.md``).

``grid`` (the parameter grid and its pruning), ``expect`` (what the data and the time view say
a brief should hold), ``document`` (what a rule reads from one rendered brief), ``charts``
(the charts measured in Chromium), ``rules`` (the rules), ``report`` (the HTML report and
contact sheet), ``run`` (the orchestration). The proof sits above the pipeline and the batch
runner, and reads the kernel side's selection: nothing below it imports it.
"""

from helpers.proof.result import ProofResult
from helpers.proof.rules import RULES, Violation
from helpers.proof.run import ProofRequest, run_proof

__all__ = ["RULES", "ProofRequest", "ProofResult", "Violation", "run_proof"]
