# The browser tests run the same real app as the integration tests.
from tests.integration.conftest import serve_with_ledger  # noqa: F401
