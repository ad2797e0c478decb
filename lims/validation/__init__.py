"""Validation of the installed system (``make validation``, ``flask validation report``).

- ``pytest_plugin``: the ``req`` marker checked against ``lims/domain/requirements.toml`` and
  ``--validation-results``, what a test run did, as JSON (xdist-safe);
- ``run``: the marked tests run in a pytest of their own (the operational qualification);
- ``pq``: one unit from collection to administration through the real HTTP API of a served
  instance on a scratch database (the performance qualification);
- ``matrix``: requirement → tests → result of this run;
- ``report`` and ``pdf``: the report's data (with the installation qualification), its
  SHA-256, HTML and PDF;
- ``cli``: the command, which writes the files and keeps the report in the database
  (``services.audit.validation``), where QA approves it with an e-signature.

An entrypoint like ``cli`` and ``web``: it calls services, nothing below calls it.
"""
