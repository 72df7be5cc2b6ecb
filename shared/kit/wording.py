"""Small helpers for messages built from values: the article before a word."""

from __future__ import annotations


def a_or_an(word: str) -> str:
    """``word`` with its indefinite article: "an approved", "a draft".

    By the first letter: our states and kinds are plain English words (an "u" that sounds
    like "you", as in "used", would want "a"; none of ours starts so)."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"
