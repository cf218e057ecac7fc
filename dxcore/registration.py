"""A name is registered once: the rule the modality registry (:mod:`dxcore.registry`) and
the explainer registry (:mod:`dxcore.explain`) share.

A second registration under a name already taken is refused with one :class:`DxError`
naming both, rather than silently replacing the first (whichever package was imported last
would win). The same registration made again, its class defined at the same place (its
package imported a second time: :func:`importlib.reload`, Streamlit re-running a changed
module), replaces the first; ``replace=True`` replaces on purpose (a test substituting a
modality or a method).

Example:
    >>> class Mine: ...
    >>> class Theirs: ...
    >>> check_unclaimed("modality 'beats'", Mine, Mine, replace=False)
    >>> check_unclaimed("modality 'beats'", Mine, Theirs, replace=False)
    Traceback (most recent call last):
    ...
    dxcore.errors.DxError: The modality 'beats' is registered already, by
    dxcore.registration.Mine; dxcore.registration.Theirs cannot register it again.
"""

from __future__ import annotations

from dxcore.errors import DxError


def origin(thing: type) -> str:
    """Where a class is defined, ``module.QualifiedName``."""
    return f"{thing.__module__}.{thing.__qualname__}"


def check_unclaimed(what: str, held: type | None, new: type, replace: bool) -> None:
    """Refuse to register ``new`` as ``what`` ("modality 'ecg'") when ``held``, a class
    defined elsewhere, holds it already, unless ``replace``."""
    if held is not None and not replace and origin(held) != origin(new):
        raise DxError(f"The {what} is registered already, by {origin(held)}; {origin(new)} "
                      "cannot register it again.")
