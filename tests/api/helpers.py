"""Assertions shared by the API tests."""

from __future__ import annotations


def assert_error(response, status: int | tuple[int, ...], code: str | None = None) -> dict:
    """A 4xx in the one error shape; returns the error object."""
    statuses = (status,) if isinstance(status, int) else status
    assert response.status_code in statuses, (response.status_code, response.get_data()[:500])
    assert response.is_json, response.get_data()[:200]
    error = response.get_json()["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    if response.status_code == 422:
        assert error["fields"], error
    if code is not None:
        assert error["code"] == code, error
    return error


def product_through_api(
    api, kind: str = "ADIPOSE", *, mrn: str = "MRN-1", name: str = "Pat Example"
) -> tuple[dict, dict]:
    """A collection of ``kind`` registered, received, processed step by step and completed,
    all through the API: (its source unit, its product in quarantine)."""
    from tests.service.lab import PRODUCT_OF, steps_for

    source = api.register(kind, as_="clinician", mrn=mrn, name=name)
    api.act(source, "receive")
    api.act(source, "start_processing")
    for step in steps_for(kind):
        api.act(source, "record_step", **step)
    done = api.act(
        source,
        "complete_processing",
        products=[{"type": PRODUCT_OF[kind], "volume_ml": 8, "cell_count": 30_000_000}],
    )
    (product,) = done["products"]
    return done["unit"], product


def record_required_qc(api, product: dict, **values) -> list[dict]:
    """A result for every test the product's specs require (passing unless given);
    returns each result's ledger entry."""
    from tests.service.lab import qc_data, required_tests

    return [
        api.act(product, "record_qc", **qc_data(test, values.get(test)))["entries"][0]
        for test in required_tests(product["type"])
    ]
