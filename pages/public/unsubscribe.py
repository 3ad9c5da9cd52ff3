"""The public newsletter page behind every message's unsubscribe link (no sign-in).

Opening the link changes nothing: mail scanners open links, so the person confirms with a
button. The same page lets them subscribe again. A link that is not valid gets one neutral
sentence and changes nothing.
"""

import streamlit as st

from crm.mailing import subscriptions
from crm.ui import text
from crm.ui.session import database

FLASH = "unsubscribe_flash"

st.title("Newsletter")
token = st.query_params.get("token", "")
db = database()
view = subscriptions.link_view(db, token)
if view is None:
    st.info("This link is not valid. Please use the complete link from the email. "
            "Nothing was changed.")
    st.stop()

if flash := st.session_state.pop(FLASH, None):
    text.success("{}", flash)
if view.subscribed:
    text.markdown("You receive our newsletter at {}.", text.code(view.masked_email))
    st.caption("To stop receiving it, confirm here. Opening this page alone changes nothing.")
    if st.button("Unsubscribe", type="primary", key="unsubscribe"):
        subscriptions.unsubscribe_by_link(db, token)
        st.session_state[FLASH] = ("You are unsubscribed. You will not receive our newsletter "
                                   "any more.")
        st.rerun()
else:
    text.markdown("{} is unsubscribed from our newsletter.", text.code(view.masked_email))
    st.caption("Changed your mind? You can subscribe again here.")
    if st.button("Subscribe again", key="resubscribe"):
        subscriptions.resubscribe_by_link(db, token)
        st.session_state[FLASH] = "Welcome back: you are subscribed to our newsletter again."
        st.rerun()
