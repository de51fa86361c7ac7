"""The CI sample of the proof: about 20 briefs from the grid (each notebook, each partner,
undated off, a knowledge cut before the source, hindsight mid-month, windows with no and with
several events, Letter), rendered in one batch with warm kernels and checked against every
rule. It must find nothing.
"""

from __future__ import annotations

import pytest

from helpers.proof.run import ProofRequest, run_proof


@pytest.mark.kernels
@pytest.mark.browser
def test_the_sample_renders_and_breaks_no_rule(tmp_path):
    result = run_proof(ProofRequest(sample=True, out_dir=tmp_path / "proof"))
    assert (tmp_path / "proof" / "proof.html").exists()
    assert not result.failed, [b.error for b in result.failed]
    assert [f"{v.rule}: {v.brief}: {v.text} ({v.why})" for v in result.violations] == []
