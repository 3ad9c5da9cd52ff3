"""Streamlit widgets shared by several pages. The only package that imports streamlit."""
