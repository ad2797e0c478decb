from lims.services import ledger


def test_adipose_from_collection_to_quarantine(register, act):
    unit = register("ADIPOSE")
    act(unit, "dispatch", as_="clinician")
    act(unit, "receive")
    act(unit, "start_processing")
    result = act(unit, "complete_processing")
    assert unit.status == "processed"
    assert [p.status for p in result.products] == ["quarantine"]
    assert result.products[0].din == unit.din
    assert ledger.verify().checked == 6
