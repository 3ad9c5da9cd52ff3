"""Start the app server: `python -m crm.ui.serve [streamlit run options]`.

The same as `streamlit run app.py`, but without Streamlit's "Page not found" on the first
visit after a start: because a `pages/` folder sits beside app.py, Streamlit runs its first
script run in its old folder-based multipage mode, which knows only app.py, and reports any
other address (a bookmarked `/leads?country=FR`) as missing before app.py's `st.navigation`
switches that mode off for good. app.py always calls `st.navigation`, so the mode is off
from the start here.
"""

from __future__ import annotations

import sys
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app.py"


def main(argv: list[str]) -> None:
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli

    from crm.common import config

    missing = config.missing_shared_secrets() if config.shares_database() else []
    if missing:  # refuse to start rather than make up keys other servers cannot know
        print(f"error: {config.shared_secrets_sentence(missing)}", file=sys.stderr)
        raise SystemExit(2)

    PagesManager.uses_pages_directory = False
    sys.argv = ["streamlit", "run", str(APP), *argv]
    cli.main()


if __name__ == "__main__":
    main(sys.argv[1:])
