"""A complete, valid answers object for the reference questionnaire, to vary per test."""

from typing import Any


def complete_answers(**overrides: Any) -> dict[str, Any]:
    answers: dict[str, Any] = {
        "D1": 1,
        "D2": 3,
        "D3": 4,
        "D4": 1,
        "D5": 1,
        "D6": 2,
        "Q2": {"a": 3, "b": 4, "c": 3, "d": 5},
        "Q3": 1,
        "Q4": 2,
        "Q1": 2,
        "Q5": {"a": 1, "b": 2, "c": 2, "d": 1, "e": 1},
        "Q17": 2,
        "Q6": {"a": 1, "b": 1, "c": 2, "d": 2, "e": 3, "f": 2},
        "Q7": {"a": 1, "b": 2, "c": 2, "d": 3, "e": 1, "f": 2, "g": 1},
        "Q8": [1, 6],
        "Q9": [1, 4],
        "Q10": [4],
        "Q14": 1,
        "Q15": 3,
        "Q11": [2, 3],
        "Q12": [1],
        "Q13": [4],
        "Q16": [1, 2],
    }
    answers.update(overrides)
    return answers
