from tests.integration.conftest import kafka  # noqa: F401  (the session's broker)
