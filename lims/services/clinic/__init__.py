"""The clinician's side: appointments for collection and injection, the readiness board
(what is ready, until when, and when the rest will be), and the stage durations that the
estimates (and QA's charts) are ranked from.
"""
