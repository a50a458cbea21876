"""Loaded by pytest before Django starts (``-p tests.pytest_env`` in pyproject.toml).

Tests run with DEBUG off, like production, so the keys that are required without DEBUG get
test values here; a value already in the environment (CI) wins.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-for-the-test-suite-only-" + "x" * 20)
os.environ.setdefault("IDENTITY_HASH_KEY", "test-identity-hash-key-for-the-test-suite-only")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
# Many tests send a wrong token on purpose, all from 127.0.0.1: the suite would lock itself
# out. tests/survey/api/test_token_guessing.py sets a low limit where it tests the lock.
os.environ.setdefault("API_TOKEN_FAILURE_LIMIT", "100000/hour")
