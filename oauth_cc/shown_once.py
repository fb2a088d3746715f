"""``ShownOnce``: a plain-text secret on its way to the one page that shows it."""

from __future__ import annotations


class ShownOnce(str):
    """A plain-text secret whose ``repr`` is masked.

    It renders as itself in the page that shows it, but error reports (which print the
    ``repr`` of every local variable, template contexts included) show a placeholder.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "'********'"
