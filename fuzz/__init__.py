"""Coverage-guided fuzzing of every parser that takes outside input (issue 7).

harnesses.py holds one function per parser (bytes in, an exception out on a
contract violation); run.py drives them with atheris; tests/unit/test_fuzz_*.py
feed the same functions from hypothesis for a short run in CI.
"""
