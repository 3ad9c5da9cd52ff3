"""The public request form (`/?view=request`): anyone may send a commercial request, without
signing in. A hidden honeypot field catches bots (they get the same thank-you, and nothing is
kept); a rate limit per client stops floods."""

import streamlit as st

from crm.pipeline.requests import RATE_LIMIT, RATE_WINDOW, Receipt, receive_public_request
from crm.ui import text
from crm.ui.request_forms import request_inputs
from crm.ui.session import client_address, database

SENT = "request_form_sent"
HONEYPOT = "request_form_website"


def hide_honeypot() -> None:
    """Our own constant CSS: people never see the honeypot field; form-filling bots do."""
    st.html(f"<style>.st-key-{HONEYPOT} {{ display: none; }}</style>")


hide_honeypot()


st.title("Send us a request")
if st.session_state.get(SENT):
    st.success("Thank you! We received your request and will get back to you soon.")
    if st.button("Send another request"):
        st.session_state.pop(SENT)
        st.rerun()
    st.stop()

st.caption("Tell us what you need. Give your name and an email address or a phone number "
           "so that we can answer.")
db = database()
with st.form("request_form"):
    values = request_inputs(db, "request_form")
    values["newsletter_opt_in"] = st.checkbox("Also send me your newsletter", False)
    honeypot = st.text_input("Leave this field empty", key=HONEYPOT, autocomplete="off")
    submitted = st.form_submit_button("Send request", type="primary")

if submitted:
    result = receive_public_request(db, values, ip_address=client_address(),
                                    honeypot=honeypot)
    if result.receipt is Receipt.ACCEPTED:
        st.session_state[SENT] = True
        st.rerun()
    elif result.receipt is Receipt.INVALID:
        for problem in result.problems:
            text.error("{}", problem.message)
    elif result.receipt is Receipt.RATE_LIMITED:
        minutes = int(RATE_WINDOW.total_seconds() // 60)
        text.error("We received {} requests from your network in the last {} minutes. "
                   "Please try again later.", RATE_LIMIT, minutes)
    else:
        st.error("The request form is not available right now. Please try again later.")
