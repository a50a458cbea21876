from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

# Our own name on the admin's pages (not "Django administration").
admin.site.site_header = gettext_lazy("Wenji administration")
admin.site.site_title = gettext_lazy("Wenji")
admin.site.index_title = gettext_lazy("Questionnaires, responses and accounts")

# /healthz is answered by config.middleware.HealthCheckMiddleware, ahead of host checks.
urlpatterns = [
    path("admin/", admin.site.urls),
    path("s/", include("survey.urls")),
    path("api/v1/", include("survey.api.urls")),
    path("api/v1/", include("analysis.urls")),
    path("api/v1/", include("exports.urls")),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/v1/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"
    ),
    path("results/", include("analysis.page_urls")),
    path("studio/", include("studio.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]
