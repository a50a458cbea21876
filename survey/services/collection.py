"""How a questionnaire meets its respondents: when it takes responses and how many
(``questionnaire_schedule_set``), and its WeChat share card (``questionnaire_share_card_set``).

Promises:
- A refusal names the field (``ScheduleInvalid``, ``ShareCardInvalid``) and changes nothing.
- The share card's picture is a PNG or JPEG of at most 256 KB, recognised by its first bytes,
  and kept in its own row (``ShareImage``), so reading a questionnaire never reads it.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from survey.models import Questionnaire, ShareImage
from wenji.errors import DomainError

SHARE_IMAGE_MAX_BYTES = 256 * 1024
_IMAGE_MAGIC = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))


class ShareCardInvalid(DomainError):
    code = "invalid_share_card"


def questionnaire_share_card_set(
    *,
    questionnaire: Questionnaire,
    title: str,
    description: str,
    image: bytes | None = None,
    remove_image: bool = False,
) -> Questionnaire:
    """Set the WeChat share card's title, text and picture (empty: the defaults, see
    survey.views). The picture must be a PNG or JPEG of at most 256 KB (``ShareCardInvalid``
    names the field; nothing changes then); ``image`` None keeps the one there is."""
    kind = None
    if image is not None:
        kind = next((k for magic, k in _IMAGE_MAGIC if image.startswith(magic)), None)
        if kind is None or len(image) > SHARE_IMAGE_MAX_BYTES:
            message = _("Give a PNG or JPEG picture of at most 256 KB.")
            raise ShareCardInvalid(message, {"share_image": [message]})
    with transaction.atomic():
        if image is not None and kind is not None:
            ShareImage.objects.update_or_create(
                questionnaire=questionnaire, defaults={"data": image, "content_type": kind}
            )
        elif remove_image:
            ShareImage.objects.filter(questionnaire=questionnaire).delete()
        questionnaire.share_title = title.strip()[:64]
        questionnaire.share_description = description.strip()[:120]
        questionnaire.save(update_fields=["share_title", "share_description", "updated_at"])
    return questionnaire


class ScheduleInvalid(DomainError):
    code = "invalid_schedule"


def questionnaire_schedule_set(
    *,
    questionnaire: Questionnaire,
    opens_at: datetime | None,
    closes_at: datetime | None,
    response_limit: int | None,
) -> Questionnaire:
    """When an open questionnaire takes responses, and how many at most (None: no bound).
    ``ScheduleInvalid`` names the field when the end is not after the start or the limit is
    not a positive number; nothing changes then."""
    if opens_at is not None and closes_at is not None and closes_at <= opens_at:
        message = _("The end must be after the start.")
        raise ScheduleInvalid(message, {"closes_at": [message]})
    if response_limit is not None and response_limit < 1:
        message = _("Give a number of at least 1, or leave it empty.")
        raise ScheduleInvalid(message, {"response_limit": [message]})
    questionnaire.opens_at = opens_at
    questionnaire.closes_at = closes_at
    questionnaire.response_limit = response_limit
    questionnaire.save(update_fields=["opens_at", "closes_at", "response_limit", "updated_at"])
    return questionnaire
