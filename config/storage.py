from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    """Hashed, pre-compressed static files (served with a one-year cache by WhiteNoise).

    Not strict: before ``collectstatic`` has run (tests, a fresh laptop in DEBUG) a name that
    is not in the manifest falls back to its plain path instead of raising.
    """

    manifest_strict = False
