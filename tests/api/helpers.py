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
