"""The synergy metric on hand-built outcomes, against values computed by hand."""

from __future__ import annotations

import json
from dataclasses import replace
from itertools import count

import pytest

from codemill.synth.schema import Attempt, Candidate, Outcome, Target, Verification
from codemill.synth.synergy import MIN_MATCHED, matched_acceptance, synergy_matrix

_ids = count()


def outcome(
    language: str,
    origin: str,
    *,
    passed: bool | None = None,
    score: float | None = None,
    similarity: float = 0.0,
    refused: bool = False,
) -> Outcome:
    """``passed=None``: never solved (refused); True/False: one attempt passing or failing in the sandbox."""
    attempts = []
    if passed is not None:
        status = "passed" if passed else "failed"
        attempts = [Attempt("answer", "code", Verification(parsed=True, status=status))]
    candidate = Candidate(
        id=f"c{next(_ids)}",
        agent=language,
        language=language,
        target=Target(language, "strings", "easy"),
        seed_id=None,
        instruction="instruction",
        tests="tests",
        attempts=attempts,
        transcript=[],
        lineage=[] if origin in ("", language) else ["parent"],
        origin_language=origin,
    )
    return Outcome(
        candidate,
        refused="minhash 0.90 >= 0.70 with x" if refused else None,
        similarity=similarity,
        checklist_score=score,
        accepted=bool(passed),
    )


OUTCOMES = [
    # java's own: pass 1/2, checklist (0.8 + 0.6) / 2 = 0.7, novelty (0.8 + 0.6 + 0.1) / 3 = 0.5
    outcome("java", "java", passed=True, score=8, similarity=0.2),
    outcome("java", "java", passed=False, score=6, similarity=0.4),
    outcome("java", "java", refused=True, similarity=0.9),  # novelty only
    # java from python: pass 1, checklist 0.9 (the unscored one skipped), novelty (0.9 + 0.7) / 2 = 0.8
    outcome("java", "python", passed=True, score=9, similarity=0.1),
    outcome("java", "python", passed=True, score=None, similarity=0.3),
    # java from go: refused only, so novelty 0.2 is its one metric
    outcome("java", "go", refused=True, similarity=0.8),
    # python's own (an empty origin_language is the candidate's own): pass 1/2, checklist 0.5, novelty 0.9
    outcome("python", "python", passed=False, score=4, similarity=0.0),
    outcome("python", "", passed=True, score=6, similarity=0.2),
    # python from java: pass 1, no checklist, novelty 0.5
    outcome("python", "java", passed=True, similarity=0.5),
    # go from python, but go has no own candidates
    outcome("go", "python", passed=True, score=7, similarity=0.0),
]


def test_synergy_matches_hand_computed_values() -> None:
    result = synergy_matrix(OUTCOMES)
    assert result.languages == ["go", "java", "python"]
    m = result.matrix

    # (python -> java): pass 1 - 0.5, checklist 0.9 - 0.7, novelty 0.8 - 0.5
    assert result.parts["python"]["java"] == pytest.approx({"pass_rate": 0.5, "checklist": 0.2, "novelty": 0.3})
    assert m["python"]["java"] == pytest.approx((0.5 + 0.2 + 0.3) / 3)
    assert result.counts["python"]["java"] == {"derived": 2, "own": 3}

    # (go -> java): refused candidates count for novelty only, so one metric: 0.2 - 0.5
    parts = result.parts["go"]["java"]
    assert parts["pass_rate"] is None and parts["checklist"] is None
    assert parts["novelty"] == pytest.approx(-0.3)
    assert m["go"]["java"] == pytest.approx(-0.3)

    # (java -> python): pass 1 - 0.5, no checklist on the derived side, novelty 0.5 - 0.9
    assert result.parts["java"]["python"]["checklist"] is None
    assert m["java"]["python"] == pytest.approx((0.5 - 0.4) / 2)
    assert result.counts["java"]["python"] == {"derived": 1, "own": 2}

    # None cells: go has no own candidates; no go -> python or java -> go ideas; the diagonal
    assert m["python"]["go"] is None and result.counts["python"]["go"] == {"derived": 1, "own": 0}
    assert m["go"]["python"] is None and m["java"]["go"] is None
    assert all(m[lang][lang] is None for lang in result.languages)

    groups = result.groups
    assert groups["java"]["java"].count == 3 and groups["java"]["java"].refused == 1
    assert groups["java"]["java"].pass_rate == pytest.approx(0.5)
    assert groups["go"]["java"].pass_rate is None


def test_fixed_languages_and_json() -> None:
    result = synergy_matrix(OUTCOMES, languages=["python", "java", "rust"])
    assert result.languages == ["python", "java", "rust"]
    rows = result.rows()
    assert rows[0][1] == pytest.approx(1 / 3)  # python -> java
    assert rows[1][0] == pytest.approx(0.05)  # java -> python
    assert rows[2] == [None, None, None] and [row[2] for row in rows] == [None, None, None]

    data = json.loads(json.dumps(result.to_json()))
    assert data["languages"] == ["python", "java", "rust"]
    assert data["metrics"] == ["pass_rate", "checklist", "novelty"]
    assert data["matrix"][0][1] == pytest.approx(1 / 3) and data["matrix"][0][0] is None
    assert data["counts"]["python"]["java"] == {"derived": 2, "own": 3}
    assert data["parts"]["java"]["python"]["checklist"] is None
    assert data["groups"]["python"]["java"]["checklist"] == pytest.approx(0.9)


def test_no_outcomes() -> None:
    result = synergy_matrix([], languages=["python", "java"])
    assert result.rows() == [[None, None], [None, None]]
    assert synergy_matrix([]).languages == []


def _matched(language: str, origin: str, concept: str, accepted: bool) -> Outcome:
    made = outcome(language, origin, passed=accepted, score=8)
    return Outcome(replace(made.candidate, target=Target(language, concept, "easy")), accepted=accepted)


def test_matched_acceptance_compares_within_targets_and_pools_with_an_interval() -> None:
    """Derived ideas all landed on the easy concept (accepted 4/4) while own ideas spread over a hard one too: the
    raw difference would credit derivation with the concept's ease; matched on target it is small."""
    derived = [_matched("java", "python", "strings", True) for _ in range(4)]
    own = [_matched("java", "java", "strings", a) for a in (True, True, True, False)]
    own += [_matched("java", "java", "graphs", False) for _ in range(4)]
    m = matched_acceptance(derived, own)
    assert (m.derived, m.own, m.targets) == (4, 4, 1)  # the graphs outcomes have no derived counterpart
    # Agresti-Caffo: (4+1)/(4+2) - (3+1)/(4+2) = 1/6, weight 2, variance 4 * (5/36/6 + 8/36/6) / 4
    assert m.difference == pytest.approx(1 / 6, abs=1e-4)
    half = 1.96 * ((5 / 36 + 8 / 36) / 6) ** 0.5
    assert m.low == pytest.approx(1 / 6 - half, abs=1e-3) and m.high == pytest.approx(1 / 6 + half, abs=1e-3)
    assert m.verdict.startswith("not enough data (4 derived and 4 own")


def test_matched_verdicts_need_enough_data_and_an_interval_off_zero() -> None:
    derived = [_matched("java", "python", c, True) for c in ("strings", "lists") for _ in range(MIN_MATCHED)]
    own = [_matched("java", "java", c, a) for c in ("strings", "lists") for a in [True, False] * (MIN_MATCHED // 2)]
    better = matched_acceptance(derived, own)
    assert better.low is not None and better.low > 0 and better.verdict == "derived ideas accepted more often"
    same = matched_acceptance(own, own)
    assert same.difference == 0 and same.verdict == "no difference shown"
    assert matched_acceptance([], own).verdict.startswith("not enough data (0 derived")
    data = synergy_matrix([*derived, *own]).to_json()["matched"]
    assert data["python"]["java"]["verdict"] == "derived ideas accepted more often"
    assert data["java"]["python"]["derived"] == 0
