"""The FHIR route × role table's rows (``test_fhir_access``): every /fhir route, every role
and anonymous. Every signed-in role reaches every read; what each one sees is the object-level
rule's (``test_fhir_resources``, ``test_fhir_search``), as in the API."""

from __future__ import annotations

from .access import PUBLIC, Endpoint

EVERYONE = frozenset({"technician", "clinician", "qa", "admin"})

# endpoint -> the paths that reach it ({patient}: the fresh collection's patient, {id}: the
# collection itself)
ENDPOINTS = {
    "fhir.capability_statement": [Endpoint("GET", "/metadata", PUBLIC)],
    "fhir.search": [
        Endpoint("GET", "/Patient?identifier=MRN-1", EVERYONE),
        Endpoint("GET", "/Specimen?patient={patient}", EVERYONE),
        Endpoint("GET", "/BiologicallyDerivedProduct?identifier={din}", EVERYONE),
        Endpoint("GET", "/Procedure?patient=Patient/{patient}", EVERYONE),
    ],
    # a patient and a collection each role may see: registered by the clinician who treats,
    # held by the lab (the technician), and QA and admin see every patient
    "fhir.read_resource": [
        Endpoint("GET", "/Patient/{patient}", EVERYONE),
        Endpoint("GET", "/Specimen/{id}", EVERYONE),
    ],
    "fhir.patient_everything": [Endpoint("GET", "/Patient/{patient}/$everything", EVERYONE)],
}
# What a Bundle row finds beside the one record: a fresh collection has no product and no
# administration yet; the patient's $everything is the patient and the collection.
FOUND = {
    "/BiologicallyDerivedProduct?identifier={din}": 0,
    "/Procedure?patient=Patient/{patient}": 0,
    "/Patient/{patient}/$everything": 2,
}
