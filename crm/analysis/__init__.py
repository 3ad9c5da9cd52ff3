"""Looking across records: saved segments and the overview figures.
"""
