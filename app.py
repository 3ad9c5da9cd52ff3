"""Entry point: sign in, then the navigation built for the signed-in user's role."""

from pathlib import Path

import streamlit as st

from crm.ui import admission, rerun_log
from crm.ui.navigation import pages_for, public_page, sign_in_pages
from crm.ui.session import sign_out_button, signed_in_user

# The tab's icon is served by the app itself: a Material icon name would make every visitor's
# browser fetch it from Google's font servers (and fail where there is no internet).
st.set_page_config(page_title="Leads & Contacts",
                   page_icon=str(Path(__file__).parent / "crm" / "ui" / "icon.png"),
                   layout="wide")

# A few runs work at once; the others wait their turn (see crm.ui.admission).
with admission.turn(), rerun_log.logged() as run:  # one line per run in the server's log
    public = public_page()
    if public is not None:  # a page for anyone (an unsubscribe link): no sign-in involved
        run.page = public.url_path
        st.navigation([public], position="hidden").run()
        st.stop()

    user = signed_in_user()
    if user is None:  # the sign-in form is drawn; the address asked for is kept for after it
        run.page = "sign-in"
        st.navigation(sign_in_pages(), position="hidden").run()
        st.stop()

    run.user = user.username
    page = st.navigation(pages_for(user))
    run.page = page.url_path
    sign_out_button()
    page.run()
