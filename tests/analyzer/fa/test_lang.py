"""Language identification: confident on real sentences, silent on fragments."""

from __future__ import annotations

import pytest

from valiqor_trace.analyzer.fa.lang import detect_language


@pytest.mark.parametrize("text, lang", [
    ("What are the opening hours of the museum on Sunday and is there a discount for students?", "en"),
    ("¿Cuáles son los horarios del museo el domingo y hay descuento para los estudiantes?", "es"),
    ("Quels sont les horaires du musée le dimanche et est-ce qu'il y a une réduction pour les étudiants ?", "fr"),
    ("Wie sind die Öffnungszeiten des Museums am Sonntag und gibt es einen Rabatt für die Studenten?", "de"),
    ("Какие часы работы музея в воскресенье и есть ли скидка для студентов?", "ru"),
    ("博物馆星期天的开放时间是什么时候，学生有折扣吗？", "zh"),
    ("日曜日の博物館の開館時間はいつですか、学生割引はありますか？", "ja"),
])
def test_detects_the_language(text: str, lang: str) -> None:
    assert detect_language(text)[0] == lang


@pytest.mark.parametrize("text", ["OK", "12345 67890", "Paris.", ""])
def test_abstains_on_fragments(text: str) -> None:
    assert detect_language(text) == (None, 0.0)
