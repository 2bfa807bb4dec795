"""The word diff of prose: tokens keep words, punctuation and Markdown markup apart; ops rebuild both texts."""
from __future__ import annotations

import random

import pytest

from vice_ai.domain.diffing import apply_choices, change_count, tokens, word_diff


def changes(old: str, new: str) -> list[tuple[str, str, str]]:
    return [(op["op"], op["old"], op["new"]) for op in word_diff(old, new) if op["op"] != "equal"]


def test_tokens_are_words_punctuation_whitespace_and_markup():
    text = "# Budget\n\n- **Total**: 40,000 euros, don't [see](https://x.org/a?b=1)...\n1. Next"
    assert tokens(text) == [
        "#", " ", "Budget", "\n", "\n", "-", " ", "**", "Total", "**", ":", " ", "40,000", " ", "euros", ",", " ",
        "don't", " ", "[", "see", "](https://x.org/a?b=1)", "...", "\n", "1.", " ", "Next"]


def test_a_hash_inside_a_line_is_punctuation_not_a_heading():
    assert tokens("C# and #1") == ["C", "#", " ", "and", " ", "#", "1"]


@pytest.mark.parametrize("text", ["", "plain", "  lead and trail  ", "a\r\nb\n\n\n", "émigré naïve – “quotes”",
                                  "tab\tand\u00a0nbsp", "`code` ~~gone~~ __b__ _i_ ***x***", "🙂 emoji 🙂🙂"])
def test_tokens_join_back_to_the_text(text):
    assert "".join(tokens(text)) == text


def test_one_changed_word_is_one_change():
    assert changes("The budget is 40,000 euros.", "The budget is 50,000 euros.") == [("replace", "40,000", "50,000")]


def test_punctuation_is_its_own_change():
    assert changes("We ask for funding.", "We ask for funding!") == [("replace", ".", "!")]


def test_changes_separated_only_by_spaces_are_one_change():
    assert changes("The quick brown fox.", "A slow brown fox.") == [("replace", "The quick", "A slow")]


def test_insertions_and_deletions():
    def stripped(old: str, new: str) -> list[tuple[str, str, str]]:  # the space may go before or after the word
        return [(op, a.strip(), b.strip()) for op, a, b in changes(old, new)]

    assert stripped("We ask for funding.", "We kindly ask for funding.") == [("insert", "", "kindly")]
    assert stripped("We kindly ask for funding.", "We ask for funding.") == [("delete", "kindly", "")]


def test_paragraphs_change_apart():
    old = "First paragraph stays.\n\nSecond one is short.\n\nThird is kept."
    new = "First paragraph stays.\n\nSecond one is longer now.\n\nThird is kept, too."
    assert changes(old, new) == [("replace", "short", "longer now"), ("insert", "", ", too")]


def test_markdown_markup_changes_alone():
    assert changes("## Budget", "### Budget") == [("replace", "##", "###")]
    assert changes("The **total** sum", "The total sum") == [("delete", "**", ""), ("delete", "**", "")]
    assert changes("[docs](https://a.org)", "[docs](https://b.org)") == [
        ("replace", "](https://a.org)", "](https://b.org)")]


@pytest.mark.parametrize("seed", range(20))
def test_ops_rebuild_both_texts(seed):
    rng = random.Random(seed)
    words = ["the", "budget", " ", "\n", "\n\n", ",", ".", "**", "# ", "- ", "40,000", "don't", "é", "\t"]
    old = "".join(rng.choice(words) for _ in range(rng.randint(0, 300)))
    new = "".join(rng.choice(words) for _ in range(rng.randint(0, 300)))
    ops = word_diff(old, new)
    assert "".join(op["old"] for op in ops) == old
    assert "".join(op["new"] for op in ops) == new
    assert all(op["old"] == op["new"] for op in ops if op["op"] == "equal")
    n = change_count(ops)
    assert apply_choices(ops, [True] * n) == new and apply_choices(ops, [False] * n) == old


def test_accepting_some_changes_keeps_the_old_text_of_the_others():
    ops = word_diff("We ask for funding. The budget is 40,000 euros.", "We request funding. The budget is 50,000 euros.")
    assert change_count(ops) == 2
    assert apply_choices(ops, [False, True]) == "We ask for funding. The budget is 50,000 euros."
    assert apply_choices(ops, [True, False]) == "We request funding. The budget is 40,000 euros."


def test_the_largest_sections_diff_into_ops_that_rebuild_them():
    # Sizes at the section limit (speed is for benchmarks; this only says such input is handled whole).
    old = "word " * 100_000
    new = old.replace("word word", "word more", 3) + "\nend"
    ops = word_diff(old, new)
    assert "".join(op["old"] for op in ops) == old and "".join(op["new"] for op in ops) == new
    ops = word_diff("a" * 500_000, "b " * 250_000)
    assert "".join(op["new"] for op in ops) == "b " * 250_000
