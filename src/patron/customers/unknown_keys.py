"""Keys of a body patron does not know (rule 10, SPEC 8): warned about one by one, up to a limit.

Pure: no I/O. The customer writes and the consent change report them the same way.
"""

from __future__ import annotations

from patron import errors
from patron.errors import Problems

MAX_UNKNOWN_KEYS = 100
"""SPEC 8: unknown keys reported as warnings at most; a request with more is refused."""


def report_unknown_keys(keys: tuple[str, ...], problems: Problems) -> None:
    """Rule 10 and SPEC 8: a warning naming each unknown key, or one 400 past 100 of them."""
    if len(keys) > MAX_UNKNOWN_KEYS:
        # One error instead of thousands of warnings: the answer stays small.
        problems.error(
            errors.TOO_MANY,
            f"the body has {len(keys)} keys patron does not know (the first is {keys[0][:80]!r}); "
            f"at most {MAX_UNKNOWN_KEYS} are accepted",
        )
        return
    for path in keys:
        problems.warn(errors.UNKNOWN_KEY, f"{path} is not a key patron knows; it was ignored", path)
