"""Level 3's student: logistic regression over the objective signals, fitted to a teacher's (soft) scores."""

from __future__ import annotations

from pathlib import Path

import pytest

from codemill.curate.classify.level3 import SignalModel, fit_signal_model


def _good(i: int) -> str:
    return (
        f"def scaled_total_{i}(values: list[float], factor: float) -> float:\n"
        '    """The sum of the values, times the factor."""\n'
        "    # an empty list sums to zero\n"
        f"    return sum(values) * factor + {i}\n"
    )


def _bad(i: int) -> str:
    return f"def a{i}(a1, a2):\n    return sum(a1) * a2 + {i}\nx{i} = [{', '.join(str(i * k) for k in range(30))}]\n"


def test_a_fit_to_the_teachers_scores_ranks_like_the_teacher_and_round_trips(tmp_path: Path) -> None:
    texts = [_good(i) for i in range(20)] + [_bad(i) for i in range(20)]
    targets = [0.9] * 20 + [0.15] * 20  # soft labels, as the judge's expected score over 5
    model = fit_signal_model(texts, targets, fitted={"teacher": "test"})
    held_good, held_bad = model.probabilities([_good(99), _bad(99)])
    assert held_good > 0.7 > 0.3 > held_bad
    assert model.probabilities([_good(1)], "bad")[0] == pytest.approx(1 - model.probabilities([_good(1)])[0])
    again = SignalModel.load(model.save(tmp_path / "level3.json"))
    assert again == model and again.fitted == {"teacher": "test", "rows": 40, "l2": 1.0}
    assert again.probabilities(texts) == model.probabilities(texts) and again.probabilities([]) == []


def test_bad_targets_and_unknown_signals_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        fit_signal_model(["a", "b"], [0.5, 2.0])
    with pytest.raises(ValueError, match="at least two"):
        fit_signal_model(["a"], [0.5])
    model = fit_signal_model([_good(1), _bad(1)], [1.0, 0.0])
    path = model.save(tmp_path / "m.json")
    path.write_text(path.read_text().replace('"log_lines"', '"log_lines_v9"'))
    with pytest.raises(ValueError, match="log_lines_v9"):
        SignalModel.load(path)


def test_the_classifier_step_reads_a_signal_model_as_level_3(tmp_path: Path) -> None:
    from codemill.curate.filters.classifier import ClassifierFilter, ClassifierParams
    from codemill.data.schema import Document

    model = fit_signal_model([_good(i) for i in range(10)] + [_bad(i) for i in range(10)], [0.9] * 10 + [0.1] * 10)
    path = model.save(tmp_path / "level3.signals")
    step = ClassifierFilter(ClassifierParams(model=str(path), level=3, score_name="level3"))
    docs = [Document(id="g", text=_good(50), lang="python"), Document(id="b", text=_bad(50), lang="python")]
    fails = step.judge_batch(docs)
    assert fails[0] is None and fails[1] is not None
    bad = tmp_path / "broken.signals"
    bad.write_text("{}")
    with pytest.raises(Exception, match="cannot load signal model"):
        ClassifierFilter(ClassifierParams(model=str(bad))).setup()
