"""Schema pieces every API view shares: the documented error answers (``errors(400, 404)``),
the slug path parameter, and the largest id a path may name."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from wenji.api.serializers import ErrorOut

_ERROR_DESCRIPTIONS = {
    400: "The body or a parameter is invalid (`fields` names each place).",
    401: "No or invalid credentials (`Authorization: Token <key>`).",
    403: "Your role does not allow this operation.",
    404: "No such questionnaire or response, or it is not granted to you.",
    409: "Refused by what is stored: the questionnaire is not open, the submission_id was used "
    "for other answers, the slug is taken, a change would orphan stored answers, or there are "
    "no analysis results to export yet.",
    412: "If-Match is not the current ETag: someone saved since you read it.",
    428: "Send If-Match with the ETag of the version you edited.",
    413: "The body is larger than the server accepts.",
    415: "Send the body as application/json.",
    429: "Too many requests; retry after the Retry-After header's seconds.",
}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {
        code: OpenApiResponse(response=ErrorOut, description=_ERROR_DESCRIPTIONS[code])
        for code in codes
    }


# Path parameters, documented by type; the routes take any text (see survey/api/urls.py).
SLUG_PARAMETER = OpenApiParameter(
    "slug",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    pattern=r"^[a-z0-9-]+$",
    description="The questionnaire's slug.",
)

MAX_ID = 2**63 - 1  # a bigint primary key
