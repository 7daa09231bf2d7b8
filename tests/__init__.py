"""The tests: helpers in tests/support, fixtures in the conftest.py files."""
