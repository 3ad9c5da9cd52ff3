"""Leaves every layer may use: refusals (errors), the clock, name keys, configuration and
public links.

Nothing here imports from any other crm package.
"""
