"""User text inside Streamlit markdown (messages, captions): shown as typed, never as markup.

Streamlit never runs HTML in markdown unless told to; this also keeps a segment named
`**Big** [deal](http://…)` from turning into bold text and a link.
"""

from __future__ import annotations

import re

_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:^=&\"'])")


def literal(text: str) -> str:
    """`text` escaped so markdown shows every character as it is."""
    return _PUNCTUATION.sub(r"\\\1", text.replace("\n", " "))
