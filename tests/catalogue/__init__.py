"""The bad-input catalogue: broken and hostile inputs, one case each, run through the
functions the pages and the CLI call. Every case must end in one of two ways:

- refused: a :class:`~dxcore.errors.DxError` (nothing else escapes) whose message a
  clinician can read — it names what is wrong (``expect``), is short, holds no traceback,
  no ``nan`` and no control characters;
- answered with a caveat: a result whose notes or warnings say what was odd (``warns``).

Each family (images, DICOM, ECG, case records, cards) has its module here with a list of
:class:`BadInput` cases; ``tests/catalogue/test_counts.py`` counts them all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from dxcore.errors import DxError

MAX_MESSAGE_CHARS = 600
# What a clinician must never be shown: Python internals, a raw exception, a non-number.
_INTERNALS = re.compile(r"Traceback|File \"|Error:|Exception|\bnan\b|\binf\b|0x[0-9a-f]{6,}",
                        re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x9b]")


@dataclass(frozen=True)
class BadInput:
    """One catalogue case: ``make()`` builds the input (bytes, a file dict, a card folder…);
    ``expect`` is a fragment the refusal's message must contain (case-insensitive), or
    ``warns`` one that the answered result's notes must contain."""

    name: str
    make: Callable[[], Any]
    expect: str | None = None
    warns: str | None = None

    def param(self):
        return pytest.param(self, id=self.name)


def assert_clear_message(message: str) -> None:
    """A refusal's message is for a clinician: short, plain, no internals."""
    assert message.strip(), "empty message"
    assert len(message) <= MAX_MESSAGE_CHARS, f"message of {len(message)} characters"
    assert not _INTERNALS.search(message), f"internals in message: {message!r}"
    assert not _CONTROL.search(message), f"control characters in message: {message!r}"


def assert_refused(case: BadInput, call: Callable[[], Any]) -> DxError:
    """``call()`` raises a DxError with a clear message containing ``case.expect``."""
    with pytest.raises(DxError) as caught:
        call()
    message = str(caught.value)
    assert_clear_message(message)
    assert case.expect is not None
    assert case.expect.lower() in message.lower(), f"{message!r} lacks {case.expect!r}"
    return caught.value


def assert_answered(case: BadInput, call: Callable[[], Any]) -> Any:
    """``call()`` answers: a result with finite probabilities; when ``case.warns`` is set,
    one of its notes contains it (case-insensitive), and every note is a clear message.
    Returns the result."""
    result = call()
    assert np.isfinite(result.probabilities).all(), "a probability that is not a number"
    for note in result.notes:
        assert_clear_message(note)
    if case.warns is not None:
        assert any(case.warns.lower() in note.lower() for note in result.notes), \
            f"{result.notes!r} lack {case.warns!r}"
    return result


def ids(cases: list[BadInput]) -> list:
    return [case.param() for case in cases]


def assert_answered_with_note(case: BadInput, notes: list[str]) -> None:
    """An answered case: one of ``notes`` (what the page and the CLI show with the result:
    its notes, a table row's refusal) contains ``case.warns``, and every note is clear."""
    assert case.warns is not None
    for note in notes:
        assert_clear_message(note)
    assert any(case.warns.lower() in note.lower() for note in notes), \
        f"{notes!r} lack {case.warns!r}"
