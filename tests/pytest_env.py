"""Loaded by pytest before Django starts (``-p tests.pytest_env`` in pyproject.toml).

Tests run with DEBUG off, like production, so the keys that are required without DEBUG get
test values here; a value already in the environment (CI) wins.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-for-the-test-suite-only-" + "x" * 20)
os.environ.setdefault("IDENTITY_HASH_KEY", "test-identity-hash-key-for-the-test-suite-only")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
