"""The synergy metric on hand-built outcomes, against values computed by hand."""

from __future__ import annotations

import json
from itertools import count

import pytest

from codemill.synth.schema import Attempt, Candidate, Outcome, Target, Verification
from codemill.synth.synergy import synergy_matrix

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
