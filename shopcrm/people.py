"""How the shop names a member of staff: one rule for pages, timelines, exports and
drop-downs."""

import re

_CJK = re.compile(r"[\u4e00-\u9fff]")


def person_name(user) -> str:
    """A staff member's name as the shop writes it: 李娜 (family name first, no space) for
    Chinese names, "Anna Li" for Latin ones, the username when no name is set; "" for None."""
    if user is None:
        return ""
    first, last = user.first_name.strip(), user.last_name.strip()
    if not (first or last):
        return user.username
    if _CJK.search(first + last):
        return f"{last}{first}"
    return f"{first} {last}".strip()
