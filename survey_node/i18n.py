"""Marking text for translation outside Flask.

Services raise errors whose first argument is an English message id; `make messages`
extracts those (the exception classes are extraction keywords) and `N_` marks other
constants. The web layer translates them through Flask-Babel's catalog.
"""


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    """Mark a constant for extraction; translate it later where the language is known."""
    return message


ROLE_LABELS = {"surveyor": N_("surveyor"), "supervisor": N_("supervisor"), "admin": N_("admin")}
