"""The validation tests use the API tests' ``api`` helper (every answer checked for
passwords)."""

from tests.api.conftest import api  # noqa: F401  (a fixture)
