"""What QA reads and decides: ledger search and extracts, a unit's chain-of-custody report
(CSV, PDF), the timeline in words, deviations and their signed decisions, alerts, and the
figures behind the charts. Reads custody; writes only QA's decisions.
"""
