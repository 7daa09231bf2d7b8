"""Helpers shared by the tests, bench/ and fuzz/: import them as
`from tests.support.<module> import ...` (pyproject.toml's pytest
`pythonpath` puts the project root and src/ on sys.path). Fixtures stay in
the conftest.py files."""
