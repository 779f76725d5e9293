"""The flexible JSON reading finds the same value as an exhaustive search, in about linear time."""

from __future__ import annotations

import json
import random
import time

import pytest

from ecinstruct.answers.flexible import _embedded_json, json_list


def exhaustive(body: str) -> list:
    """The plain definition: try the decoder at every ``[``, then at every ``{`` (quadratic on long texts)."""
    decoder, found = json.JSONDecoder(), []
    for opener in "[{":
        for start in (i for i, ch in enumerate(body) if ch == opener):
            try:
                found.append(decoder.raw_decode(body, start)[0])
            except (ValueError, RecursionError):
                continue
    return found


@pytest.mark.parametrize("seed", range(40))
def test_same_values_as_the_exhaustive_search(seed):
    rng = random.Random(seed)
    pieces = ["[", "]", "{", "}", '"', "\\", ",", ":", " ", "1", "x", '"a"', "\n", "[1]", '{"k": 2}', "null"]
    for _ in range(200):
        body = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 40)))
        assert list(_embedded_json(body)) == exhaustive(body), body


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("unclosed nesting", "[1, " * 25_000, None),
    ("unclosed objects", '{"a": ' * 16_000, None),
    ("balanced but invalid", ("[" + "1," * 100) * 500 + "]" * 500, None),
    ("many brackets, answer last", "see [note] and {x} " * 5_000 + 'answer: [{"a": 1}]', '[{"a": 1}]'),
    ("answer first, open brackets after", 'Here: [{"value": "red"}] ' + "blah [ { " * 11_000, '[{"value": "red"}]'),
])
def test_100_kb_answers_read_fast(name, text, expected):
    assert len(text) >= 90_000
    start = time.perf_counter()
    assert json_list(text) == expected
    assert time.perf_counter() - start < 2.0  # the exhaustive search takes seconds to minutes on these
