"""Pagination of the API's lists: ``StrictPageNumberPagination`` for responses, ``JobPagination``
for the lists of jobs (analysis runs, exports)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.views import APIView


class StrictPageNumberPagination(PageNumberPagination):
    """DRF's page numbers, but a malformed ``page``/``page_size`` is a 400 naming it, not
    silently the first page or the default size; a page past the end is a 404."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    last_page_strings = ()

    max_page = 999_999_999  # nine digits: more is no page of anything stored

    def paginate_queryset(
        self, queryset: QuerySet, request: Request, view: APIView | None = None
    ) -> list | None:
        self._check_number(request, self.page_query_param, self.max_page)
        self._check_number(request, self.page_size_query_param, self.max_page_size)
        return super().paginate_queryset(queryset, request, view)

    @staticmethod
    def _check_number(request: Request, name: str, maximum: int | None) -> None:
        raw = request.query_params.get(name)
        if raw is None:
            return
        number = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else 0
        if number < 1 or (maximum is not None and number > maximum):
            message = _("Use a whole number from 1 to %d.") % maximum if maximum else None
            raise ValidationError({name: [message or _("Use a whole number from 1.")]})

    def get_schema_operation_parameters(self, view: APIView) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            parameter["schema"]["maximum"] = (
                self.max_page_size
                if parameter["name"] == self.page_size_query_param
                else self.max_page
            )
        return parameters


class JobPagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 200
