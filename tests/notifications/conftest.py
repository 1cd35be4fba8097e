from tests.cli.conftest import cli  # noqa: F401  (the CLI run in-process on the test database)
from tests.web.conftest import site  # noqa: F401  (an admin center with people who sign in)
