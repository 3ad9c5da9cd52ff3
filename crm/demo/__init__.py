"""The demo workspace: a builder that fills an empty database with realistic data, and the
requests and conversions it adds.
"""
