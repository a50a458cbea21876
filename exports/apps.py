from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExportsConfig(AppConfig):
    name = "exports"
    verbose_name = _("Exports")

    def ready(self) -> None:
        from analysis.signals import run_done
        from exports.cells import after_run

        # After each analysis run, the new responses' export cells are stored (exports.cells).
        run_done.connect(after_run, dispatch_uid="exports.cells.after_run")
