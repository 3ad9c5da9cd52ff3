"""From interest to business: commercial requests, matching them to people, converting leads,
and deals.
"""
