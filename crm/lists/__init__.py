"""The list engine every record list is built on: queries, filters, bulk selections, exports.

Server-side: filtering, search, sort, counts and paging run in SQL inside the user's scope.
"""
