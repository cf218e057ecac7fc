"""The one error type the project raises for anything a user can get wrong.

Every message is written for a clinician: it says what is wrong with the input and what to
do, never how the code failed. The UI and the CLI show ``str(error)`` and nothing else; the
CLI's JSON adds the machine-readable ``code`` and any facts (:meth:`DxError.as_json`).

Example:
    >>> OutOfDomain("This is not a chest X-ray.", domain_score=0.2).as_json()
    {'error': 'This is not a chest X-ray.', 'code': 'out_of_domain', 'domain_score': 0.2}
    >>> OutOfPopulation("This film is of an adult.", reason="image").as_json()["code"]
    'out_of_population'
"""

from typing import Any, ClassVar


class DxError(Exception):
    """Bad input, a missing dataset or a refused model, explained in plain words.

    ``code`` says which kind of problem it is for programs; ``facts`` are JSON-ready
    numbers a program may read (a domain score)."""

    code: ClassVar[str] = "invalid_input"

    def __init__(self, message: str, **facts: Any):
        super().__init__(message)
        self.facts = facts

    def as_json(self) -> dict[str, Any]:
        return {"error": str(self), "code": self.code, **self.facts}


class OutOfDomain(DxError):
    """The input can be read, but it is unlike what the model was trained and validated on
    (a domain guard refused it): the model gives no answer.

    ``domain_score`` is how far outside the model's domain the input lies, in the guard's
    own units (1 = at the refusal threshold; higher = further out)."""

    code: ClassVar[str] = "out_of_domain"

    def __init__(self, message: str, domain_score: float | None = None, **facts: Any):
        super().__init__(message, **({"domain_score": round(float(domain_score), 4)}
                                     if domain_score is not None else {}), **facts)


class OutOfPopulation(OutOfDomain):
    """The input is of the right kind but of a patient outside the population the model was
    trained on (an adult's film for a paediatric model): the model gives no answer.

    A kind of :class:`OutOfDomain`, so that every page, report and batch path shows it as a
    refusal; its own ``code`` tells programs why. Its facts never hold patient data (an
    age): ``reason`` says what refused it (``"dicom_age"``, ``"image"``)."""

    code: ClassVar[str] = "out_of_population"
