"""Casework: a person's or a lawyer's evidence grouped by dispute, its evidence list
(证据目录), the case export, and read-only share links for people with no account.

No Flask here: web/cases_api.py and web/shares_api.py parse and serialize.
"""
