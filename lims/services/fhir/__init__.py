"""FHIR R4 views of what the lab records (decisions 107 and 108, docs/fhir.md).

- ``resources``: one unit or patient → its FHIR resource as a JSON-ready dict (Patient,
  Specimen, BiologicallyDerivedProduct, Procedure), and the OperationOutcome of a refusal.
  Pure reading: the webhook's event (``actions.transition``) and the read endpoints
  (``api.fhir``) write the same resource.
- ``read``: finding them for a person, through ``access`` (the API's object-level rules).
"""
