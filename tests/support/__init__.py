"""Real servers for tests, started by the tests themselves on 127.0.0.1."""
