"""The one base of every refusal: something a person asked for that the product will not do,
with a sentence saying why, which a page shows as a red message and the command line as one
line. Pages catch `Refusal` and nothing broader, so anything else raised is a bug: it fails
the test that meets it instead of reading like a message to the user. (The command line also
turns any bad value given to it into one line: its arguments are typed by hand.)

Every domain error derives from it (a refused permission, an edit that moved on, an import or
a mailing refused, a tag, segment, user or company that cannot be made). A refusal is also a
`ValueError`, so that code which checks values and catches `ValueError` keeps working.
"""

from __future__ import annotations


class Refusal(ValueError):
    """A request refused, with the reason in words the user can act on."""
