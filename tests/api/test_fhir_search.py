"""FHIR searches on both backends (their conditions are SQL the two databases run their own
way: ORs of identifiers, the reader's access condition, a count over a subquery, paging)."""

from __future__ import annotations

from lims.services.fhir import resources
from tests.conftest import registration
from tests.service.lab import walk

from .test_fhir_resources import fhir_get, refused


def ids(bundle) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", [])]


def test_searches_find_by_identifier_and_patient_among_what_the_reader_sees(client, token, users):
    from lims.services.actions import units

    mine = units.register(registration("ADIPOSE", mrn="MRN-A", name="Ann A"), users["clinician"])
    product = walk(mine.unit, "released", users)
    other = units.register(registration("BLOOD", mrn="MRN-B", name="Bo B"), users["technician"])
    band = product.patient.wristband
    qa, doctor = token("qa"), token("clinician")

    def search(path: str, as_=qa) -> list[str]:
        bundle = fhir_get(client, path, as_)
        assert bundle["type"] == "searchset" and bundle["total"] == len(ids(bundle))
        return ids(bundle)

    patient_a, patient_b = str(product.patient_id), str(other.unit.patient_id)
    assert search("/Patient?identifier=MRN-A") == [patient_a]
    assert search(f"/Patient?identifier={resources.MRN}|MRN-A") == [patient_a]
    assert search(f"/Patient?identifier={resources.WRISTBAND}|MRN-A") == []
    assert search(f"/Patient?identifier=|{band}") == [patient_a]
    assert search("/Patient?identifier=urn:other:mrn|MRN-A") == []
    assert search("/Patient?identifier=MRN-A,MRN-B") == [patient_a, patient_b]
    assert search("/Patient?identifier=MRN-A&identifier=MRN-B") == []  # AND of both
    assert search(f"/Patient?_id={patient_b}") == [patient_b]

    din = product.din
    assert search(f"/BiologicallyDerivedProduct?identifier={din}") == [str(product.id)]
    typed = din + product.check_character
    assert search(f"/BiologicallyDerivedProduct?identifier={resources.DIN}|{typed}") == [
        str(product.id)
    ]
    assert search(f"/Specimen?identifier={din}") == [str(mine.unit.id)]
    assert search(f"/Specimen?patient=Patient/{patient_b}") == [str(other.unit.id)]
    assert search(f"/BiologicallyDerivedProduct?patient={patient_b}") == []
    assert search(f"/BiologicallyDerivedProduct?patient={patient_a}") == [str(product.id)]
    assert search("/BiologicallyDerivedProduct?identifier=not-a-din") == []
    assert search(f"/Procedure?patient={patient_a}") == []  # released, not administered yet

    # the therapy course's chain of identity (decision 104): an identifier of each unit of it
    chain = product.chain_of_identity
    assert chain and chain.startswith("CH") and chain != other.unit.chain_of_identity
    assert search(f"/BiologicallyDerivedProduct?identifier={chain}") == [str(product.id)]
    # as scanned: the data identifier &/ before it (%26 in a URL)
    assert search(f"/Specimen?identifier={resources.CHAIN_OF_IDENTITY}|%26/{chain}") == [
        str(mine.unit.id)
    ]
    assert search(f"/Specimen?identifier={resources.DIN}|{chain}") == []
    read = fhir_get(client, f"/BiologicallyDerivedProduct/{product.id}", qa)
    assert {"use": "secondary", "system": resources.CHAIN_OF_IDENTITY, "value": chain} in read[
        "identifier"
    ]

    # the clinician sees their own patient, not the one the lab registered for nobody
    assert search("/Patient?identifier=MRN-A,MRN-B", doctor) == [patient_a]
    assert search(f"/Specimen?identifier={other.unit.din}", doctor) == []

    # pages: _count at a time from _offset, the next page linked
    first = fhir_get(client, "/Specimen?_count=1", qa)
    assert first["total"] == 2 and ids(first) == [str(mine.unit.id)]
    (following,) = [link["url"] for link in first["link"] if link["relation"] == "next"]
    second = fhir_get(client, following.split("/fhir", 1)[1], qa)
    assert ids(second) == [str(other.unit.id)]
    assert not [link for link in second["link"] if link["relation"] == "next"]
    assert refused(client, "/Specimen?_offset=-1", qa, 400) == "invalid"
