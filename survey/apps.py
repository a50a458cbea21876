from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveyConfig(AppConfig):
    name = "survey"
    verbose_name = _("Questionnaires")

    def ready(self) -> None:
        from survey import signals  # noqa: F401  (connects the receivers)
        from wenji import checks  # noqa: F401  (registers the key checks)
        from wenji.api import token_cache

        token_cache.connect()
