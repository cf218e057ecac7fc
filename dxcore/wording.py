"""The words every view of an answer uses, the pages (:mod:`dxui`) and the PDF report
(:mod:`dxcore.pdf_report`) alike, so that one answer reads the same wherever it is shown:
a probability (:func:`probability_text`: never 1.00 nor 0.00) and a refusal
(:func:`is_refusal`: the model declining an input unlike its training data, which is
"refused", apart from an input that could not be read, which is "not read").
"""

from __future__ import annotations

import math

from dxcore.errors import DxError, OutOfDomain

# Codes of a case-record row the model declines (dxcore.records.model): too few known
# findings, or a row unlike the training cohort. Any other code is an unreadable row.
REFUSAL_CODES = frozenset({OutOfDomain.code, "too_few_fields"})


def probability_text(probability: float, decimals: int = 2) -> str:
    """A probability as shown, never 1.00 nor 0.00: a calibrated model is never certain,
    and a rounded 1.00 would say it is.

    >>> probability_text(0.8712), probability_text(0.9962), probability_text(0.004)
    ('0.87', '> 0.99', '< 0.01')
    >>> probability_text(0.99949, decimals=3), probability_text(0.0), probability_text(math.nan)
    ('> 0.999', '< 0.01', '—')
    """
    if math.isnan(probability):  # no answer given (an unclassifiable beat)
        return "—"
    step = 10.0 ** -decimals
    text = f"{probability:.{decimals}f}"
    if float(text) >= 1.0 or probability > 1.0 - step:
        return f"> {1.0 - step:.{decimals}f}"
    if float(text) <= 0.0:
        return f"< {step:.{decimals}f}"
    return text


def probability_is(probability: float, decimals: int = 2) -> str:
    """The relation and number after ``P(class)``: ``"= 0.87"``, ``"> 0.99"``, ``"< 0.01"``.

    >>> f"P(PNEUMONIA) {probability_is(0.9991)}", f"P(NORMAL) {probability_is(0.13)}"
    ('P(PNEUMONIA) > 0.99', 'P(NORMAL) = 0.13')
    """
    text = probability_text(probability, decimals)
    return text if text[0] in "<>" else f"= {text}"


def is_refusal(error: DxError | str | None) -> bool:
    """Whether an error (or a case-record row's error code) is the model declining the
    input, shown as "refused", rather than an input that could not be read.

    >>> is_refusal(OutOfDomain("Not a chest X-ray.")), is_refusal("too_few_fields")
    (True, True)
    >>> is_refusal(DxError("The file is damaged.")), is_refusal("invalid_input"), is_refusal(None)
    (False, False, False)
    """
    if isinstance(error, DxError):
        return isinstance(error, OutOfDomain)
    return error in REFUSAL_CODES
