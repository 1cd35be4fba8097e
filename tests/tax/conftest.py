from tests.cli.conftest import cli  # noqa: F401  (the CLI run in-process on the test database)
