from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    """Hashed, pre-compressed static files (served with a one-year cache by WhiteNoise).

    Not strict: before ``collectstatic`` has run (tests, a fresh laptop) a name that is not
    in the manifest falls back to its plain path instead of raising, so a page still renders
    (DEBUG serves plain paths anyway). ``collectstatic`` itself stays strict: a stylesheet
    that points at a missing file still fails the build.
    """

    manifest_strict = False

    def stored_name(self, name: str) -> str:
        try:
            return super().stored_name(name)
        except ValueError:
            # Only url() comes here; post-processing uses hashed_name directly.
            return name
