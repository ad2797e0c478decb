"""Custody records: the append-only ledger and its keyed hash chain (the one writer of ledger
rows), signed head receipts, electronic signatures bound to what they sign, and the long jobs
that verify the whole chain with progress. Everything else that records custody calls here.
"""
