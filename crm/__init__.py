"""Leads & Contacts workspace: domain, data access and services (no Streamlit here)."""
