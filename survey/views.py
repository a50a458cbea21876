"""The respondent form at /s/<slug>/: plain Django views that work without JavaScript.

GET shows the form (or "closed", "already answered", a staff preview of a draft); POST reads
the fields, calls ``response_submit`` and redirects to the thank-you page, or shows the form
again with every answer kept and each error beside its question. The script in
static/survey/form.js only enhances this page.

Caching: every page here is ``private, no-cache`` (it carries a CSRF token and a per-visit
start token); gzip applies to these views only. Django masks the CSRF token afresh on every
response, which is what keeps compressing a page that also reflects the respondent's input
safe from BREACH.
"""

from __future__ import annotations

import io
import ipaddress
import logging
from dataclasses import dataclass

import segno
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.crypto import constant_time_compare
from django.utils.translation import get_language, get_language_info
from django.utils.translation import gettext as _
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_GET, require_http_methods

from survey.form_logic import (
    StartToken,
    StartTokenExpired,
    StartTokenInvalid,
    answers_from_post,
    errors_merge,
    respondent_has_answered,
    show_if_json,
    start_token_new,
    start_token_read,
)
from survey.form_page import form_page_build
from survey.labels import label_text
from survey.models import BrandImage, Questionnaire, Response, ShareImage
from survey.services.answers import answers_check, item_missing, other_missing
from survey.services.brand import BrandPage, brand_image_path, brand_page
from survey.services.identity import (
    DEVICE_COOKIE_MAX_AGE,
    DEVICE_COOKIE_NAME,
    Identity,
    device_cookie_value,
    device_id_from_cookie,
    device_id_new,
)
from survey.services.quotas import quota_full_cells
from survey.services.responses import (
    QuestionnaireNotOpen,
    SubmissionConflict,
    SubmissionError,
    TimingInvalid,
    response_submit,
)
from survey.structure import Structure, structure_for
from survey.wechat import (
    wechat_active,
    wechat_authorize_url,
    wechat_browser,
    wechat_js_config,
    wechat_openid_exchange,
    wechat_state_new,
)
from wenji.csp import content_security_policy

logger = logging.getLogger(__name__)

WECHAT_COOKIE_NAME = "wenji_wechat"
WECHAT_COOKIE_MAX_AGE = 90 * 24 * 3600
WECHAT_STATE_KEY = "wechat_oauth_state"
WECHAT_FAILED_KEY = "wechat_oauth_failed"


# --- pages --------------------------------------------------------------------------------------


@gzip_page
@require_http_methods(["GET", "HEAD", "POST"])
def questionnaire_form(request: HttpRequest, slug: str) -> HttpResponse:
    """The form: GET shows it, POST submits it (POST-redirect-GET to the thank-you page)."""
    questionnaire = _visible_questionnaire(request, slug)
    if questionnaire.status == Questionnaire.Status.CLOSED:
        return _private(_page(request, "survey/closed.html", _base(questionnaire), status=410))
    preview = questionnaire.status == Questionnaire.Status.DRAFT
    if not preview:
        window = _window(questionnaire)
        if window != Questionnaire.Window.TAKING:
            return _private(_not_taking(request, questionnaire, window))
    if not preview and wechat_active(request):
        detour = _wechat_oauth(request)
        if detour is not None:
            return _private(detour)
    visitor = _visitor(request)
    structure = structure_for(questionnaire)
    form = _Form(request, questionnaire, structure, visitor, preview)
    response = form.post() if request.method == "POST" else form.get()
    if visitor.new_device_id:
        _set_cookie(response, DEVICE_COOKIE_NAME, device_cookie_value(visitor.new_device_id))
    return _private(response)


def questionnaire_preview(
    request: HttpRequest,
    questionnaire: Questionnaire,
    structure: Structure,
    brand: BrandPage | None = None,
) -> HttpResponse:
    """The form of ``structure`` (a draft's, say) as a preview, in ``brand`` (default: the one
    in force): shown and checked, logic working, never stored and no cookie set (the studio's
    live preview)."""
    visitor = _Visitor(Identity("device", "preview"), None, "web", None)
    form = _Form(request, questionnaire, structure, visitor, preview=True, brand=brand)
    return _private(form.post() if request.method == "POST" else form.get())


@gzip_page
@require_GET
def questionnaire_thanks(request: HttpRequest, slug: str) -> HttpResponse:
    """The thank-you page. It shows no answers: anyone may open it."""
    questionnaire = _visible_questionnaire(request, slug)
    context = {
        **_base(questionnaire),
        "link": request.build_absolute_uri(reverse("survey:form", args=[questionnaire.slug])),
        "wechat": wechat_browser(request),
        "quota_full": request.GET.get("quota") == "full",
    }
    return _private(_page(request, "survey/thanks.html", context))


@require_GET
def questionnaire_qr(request: HttpRequest, slug: str) -> HttpResponse:
    """An SVG QR code of the form's public link, for posters and group chats."""
    questionnaire = _visible_questionnaire(request, slug)
    link = request.build_absolute_uri(reverse("survey:form", args=[questionnaire.slug]))
    buffer = io.BytesIO()
    segno.make(link, error="m").save(
        buffer, kind="svg", scale=8, border=2, xmldecl=False, title=label_text(questionnaire.title)
    )
    response = HttpResponse(buffer.getvalue(), content_type="image/svg+xml")
    response["Content-Disposition"] = f'inline; filename="{questionnaire.slug}-qr.svg"'
    patch_cache_control(response, public=True, max_age=3600)
    return response


def _window(questionnaire: Questionnaire) -> str:
    """Whether the open questionnaire takes responses now (one count, only with a limit)."""
    stored = (
        Response.objects.filter(questionnaire=questionnaire).count()
        if questionnaire.response_limit is not None
        else None
    )
    return questionnaire.window_at(timezone.now(), responses=stored)


def _not_taking(request: HttpRequest, questionnaire: Questionnaire, window: str) -> HttpResponse:
    """The page instead of the form: not open yet (200, come back), ended or full (410)."""
    context = {**_base(questionnaire), "window": window, "opens_at": questionnaire.opens_at}
    status = 200 if window == Questionnaire.Window.NOT_YET else 410
    return _page(request, "survey/closed.html", context, status=status)


def _visible_questionnaire(request: HttpRequest, slug: str) -> Questionnaire:
    """The questionnaire, or 404: drafts exist only for staff (who get a preview)."""
    questionnaire = Questionnaire.objects.filter(slug=slug).first()
    if questionnaire is None:
        raise Http404("no such questionnaire")
    if questionnaire.status == Questionnaire.Status.DRAFT and not request.user.is_staff:
        raise Http404("no such questionnaire")
    return questionnaire


def _base(questionnaire: Questionnaire) -> dict[str, object]:
    return {
        "questionnaire": questionnaire,
        "title": label_text(questionnaire.title),
        "intro": label_text(questionnaire.intro),
        "brand": brand_page(questionnaire),
    }


def _page(
    request: HttpRequest, template: str, context: dict[str, object], status: int = 200
) -> HttpResponse:
    """A respondent's page: its brand's colours are inline, allowed by their hash."""
    response = render(request, template, context, status=status)
    brand = context.get("brand")
    if isinstance(brand, BrandPage) and brand.style_sources:
        response["Content-Security-Policy"] = content_security_policy(
            style_sources=brand.style_sources
        )
    return response


def _private(response: HttpResponse) -> HttpResponse:
    patch_cache_control(response, private=True, no_cache=True)
    return response


def _set_cookie(response: HttpResponse, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age or DEVICE_COOKIE_MAX_AGE,
        httponly=True,
        secure=settings.SESSION_COOKIE_SECURE,
        samesite="Lax",
    )


# --- who is answering ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Visitor:
    identity: Identity
    new_device_id: str | None  # set when this response must set the device cookie
    channel: str
    ip_address: str | None


def _visitor(request: HttpRequest) -> _Visitor:
    """The WeChat openid when WeChat applies and gave one, else the signed device cookie."""
    channel = "wechat" if wechat_browser(request) else "web"
    ip_address = _client_ip(request)
    openid = _openid_from_cookie(request) if wechat_active(request) else None
    if openid:
        return _Visitor(Identity("wechat", openid), None, channel, ip_address)
    device_id = device_id_from_cookie(request.COOKIES.get(DEVICE_COOKIE_NAME))
    if device_id:
        return _Visitor(Identity("device", device_id), None, channel, ip_address)
    device_id = device_id_new()
    return _Visitor(Identity("device", device_id), device_id, channel, ip_address)


def _client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or the address the trusted proxies saw (TRUSTED_PROXY_COUNT)."""
    address = request.META.get("REMOTE_ADDR") or None
    count = settings.TRUSTED_PROXY_COUNT
    if count:
        header = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop.strip() for hop in header.split(",") if hop.strip()]
        if len(hops) >= count:
            address = hops[-count]
    try:
        return str(ipaddress.ip_address(address)) if address else None
    except ValueError:
        return None


def _wechat_cookie_salt() -> str:
    return f"wenji.wechat.{settings.WECHAT_APP_ID}"


def _openid_from_cookie(request: HttpRequest) -> str | None:
    return request.get_signed_cookie(
        WECHAT_COOKIE_NAME, default=None, salt=_wechat_cookie_salt(), max_age=WECHAT_COOKIE_MAX_AGE
    )


def _wechat_oauth(request: HttpRequest) -> HttpResponse | None:
    """A redirect that WeChat's silent OAuth needs now, or None to show the page.

    The openid is kept in a signed, HttpOnly cookie rather than the session: sessions live
    in the database, and a raw openid must never reach it. The state is in the session.
    """
    if request.method != "GET" or _openid_from_cookie(request):
        return None
    code, state = request.GET.get("code"), request.GET.get("state")
    expected = request.session.pop(WECHAT_STATE_KEY, None)
    if code is None and state is None:
        if expected is not None or request.session.get(WECHAT_FAILED_KEY):
            # Back from WeChat without a code (an error page there, the back button), or
            # tried already in this session: the device cookie will do.
            request.session[WECHAT_FAILED_KEY] = True
            return None
        state = wechat_state_new()
        request.session[WECHAT_STATE_KEY] = state
        here = request.build_absolute_uri(request.path)
        return HttpResponseRedirect(wechat_authorize_url(redirect_uri=here, state=state))
    openid = None
    if code and state and expected and constant_time_compare(state, expected):
        openid = wechat_openid_exchange(code=code)
    else:
        logger.warning("wechat oauth: the state does not match this session's; ignored")
    if openid is None:
        # Show the page right here (no redirect), so a browser that keeps no cookies cannot
        # bounce between us and WeChat forever.
        request.session[WECHAT_FAILED_KEY] = True
        return None
    response = HttpResponseRedirect(request.path)
    response.set_signed_cookie(
        WECHAT_COOKIE_NAME,
        openid,
        salt=_wechat_cookie_salt(),
        max_age=WECHAT_COOKIE_MAX_AGE,
        httponly=True,
        secure=settings.SESSION_COOKIE_SECURE,
        samesite="Lax",
    )
    return response


# --- the form -----------------------------------------------------------------------------------


class _Form:
    """One request's form: shows it, or reads and submits a POST."""

    def __init__(
        self,
        request: HttpRequest,
        questionnaire: Questionnaire,
        structure: Structure,
        visitor: _Visitor,
        preview: bool,
        brand: BrandPage | None = None,
    ) -> None:
        self.brand = brand
        self.request = request
        self.questionnaire = questionnaire
        self.structure = structure
        self.visitor = visitor
        self.preview = preview

    @property
    def once(self) -> bool:
        return self.questionnaire.one_response_per == Questionnaire.OneResponsePer.RESPONDENT

    def get(self) -> HttpResponse:
        if self.once and not self.preview and self._answered_before():
            return self._already()
        return self.render(start_token_new(questionnaire=self.questionnaire, now=timezone.now()))

    def post(self) -> HttpResponse:
        try:
            token = start_token_read(
                token=self.request.POST.get("start_token", ""), questionnaire=self.questionnaire
            )
        except StartTokenExpired as expired:
            # Ours, only old: signed again, it keeps its id (which may be stored already, so a
            # resend stays idempotent) and its start time.
            message = _("This form was open for a long time. Check your answers and send again.")
            return self.render(expired.token, bound=True, notices=[message])
        except StartTokenInvalid:
            message = _("This form could not be checked. Check your answers and send again.")
            return self.render(self._fresh_token(), bound=True, notices=[message])
        if self.once and not self.preview and self._answered_before(token):
            return self._already()
        posted = answers_from_post(structure=self.structure, data=self.request.POST)
        if posted.errors or self.preview:
            check = answers_check(
                structure=self.structure, answers=posted.answers, drop_hidden=True
            )
            errors = errors_merge(
                structure=self.structure, check_errors=check.errors, posted=posted
            )
            if errors or self.preview:
                notices = (
                    [] if errors else [_("Preview: these answers are valid. Nothing was stored.")]
                )
                return self.render(token, bound=True, errors=errors, notices=notices)
        return self._submit(token, posted.answers)

    def _submit(self, token: StartToken, answers: dict) -> HttpResponse:
        try:
            result = response_submit(
                questionnaire=self.questionnaire,
                answers=answers,
                submission_id=token.submission_id,
                channel=self.visitor.channel,
                identity=self.visitor.identity,
                started_at=token.started_at,
                ip_address=self.visitor.ip_address,
                drop_hidden=True,
            )
        except QuestionnaireNotOpen:
            window = _window(self.questionnaire)
            if window != Questionnaire.Window.TAKING:
                return _not_taking(self.request, self.questionnaire, window)
            return _page(self.request, "survey/closed.html", _base(self.questionnaire), status=410)
        except SubmissionConflict:
            message = _("This form was already sent once. Send it again to add a new response.")
            return self.render(self._fresh_token(), bound=True, notices=[message])
        except TimingInvalid:
            message = _("This form could not be checked. Check your answers and send again.")
            return self.render(self._fresh_token(), bound=True, notices=[message])
        except SubmissionError as refused:  # AnswersInvalid: errors beside the questions
            return self.render(token, bound=True, errors=refused.fields)
        thanks = reverse("survey:thanks", args=[self.questionnaire.slug])
        if result.quota_ends:  # stored and marked: the respondent is told their group is full
            thanks += "?quota=full"
        return HttpResponseRedirect(thanks, status=303)

    def _fresh_token(self) -> StartToken:
        return start_token_new(questionnaire=self.questionnaire, now=timezone.now())

    def _answered_before(self, token: StartToken | None = None) -> bool:
        return respondent_has_answered(
            questionnaire=self.questionnaire,
            identity=self.visitor.identity,
            except_submission=token.submission_id if token else None,
        )

    def _already(self) -> HttpResponse:
        return _page(self.request, "survey/already.html", _base(self.questionnaire))

    def render(
        self,
        token: StartToken,
        *,
        bound: bool = False,
        errors: dict[str, list[str]] | None = None,
        notices: list[str] | None = None,
    ) -> HttpResponse:
        errors = errors or {}
        values = (
            {key: self.request.POST.getlist(key) for key in self.request.POST} if bound else None
        )
        page = form_page_build(structure=self.structure, values=values, errors=errors)
        wechat = self._wechat_share() if wechat_active(self.request) else None
        token_text = token.dumps()
        context = {
            **_base(self.questionnaire),
            **({"brand": self.brand} if self.brand is not None else {}),
            "page": page,
            "preview": self.preview,
            "notices": notices or [],
            "start_token": token_text,
            "submission_id": str(token.submission_id),
            "languages": _language_choices(self.questionnaire),
            "wechat": wechat is not None,
            "config": self._script_config(token_text, token, bound, wechat),
        }
        return _page(self.request, "survey/form.html", context)

    def _script_config(
        self, token_text: str, token: StartToken, bound: bool, wechat: dict[str, object] | None
    ) -> dict[str, object]:
        return {
            "slug": self.questionnaire.slug,
            "submissionId": str(token.submission_id),
            "startToken": token_text,
            "bound": bound,
            "showIf": show_if_json(self.structure),
            "messages": _script_messages(),
            "wechat": wechat,
            **self._quota_config(),
        }

    def _quota_config(self) -> dict[str, object]:
        """The full cells of quotas that end the questionnaire: the script sends a respondent
        whose answers fall in one to the "your group is full" page as soon as they do."""
        if self.preview or not self.structure.quotas:
            return {}
        full = quota_full_cells(questionnaire=self.questionnaire)
        if not full:
            return {}
        thanks = reverse("survey:thanks", args=[self.questionnaire.slug])
        return {"quotaFull": full, "quotaFullUrl": f"{thanks}?quota=full"}

    def _wechat_share(self) -> dict[str, object] | None:
        config = wechat_js_config(url=self.request.build_absolute_uri())
        if config is None:
            return None
        link = self.request.build_absolute_uri(
            reverse("survey:form", args=[self.questionnaire.slug])
        )
        return {
            "config": config.as_json(),
            "share": {
                "title": share_title(self.questionnaire),
                "desc": share_description(self.questionnaire),
                "link": link,
                "imgUrl": share_image_url(self.request, self.questionnaire),
            },
        }


def share_image_url(request: HttpRequest, questionnaire: Questionnaire) -> str:
    """The share card's picture: the one set in the studio, else the platform's cover."""
    if ShareImage.objects.filter(questionnaire=questionnaire).exists():
        path = reverse("survey:share-image", args=[questionnaire.slug])
        return request.build_absolute_uri(path)
    return request.build_absolute_uri(static("survey/share-cover.png"))


@require_GET
def questionnaire_share_image(request: HttpRequest, slug: str) -> HttpResponse:
    """The share card's picture (WeChat fetches it to draw the card)."""
    questionnaire = _visible_questionnaire(request, slug)
    image = ShareImage.objects.filter(questionnaire=questionnaire).first()
    if image is None:
        raise Http404("no share picture")
    response = HttpResponse(bytes(image.data), content_type=image.content_type)
    patch_cache_control(response, public=True, max_age=300)
    return response


@require_GET
def questionnaire_brand_image(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    """The logo or cover picture. Its name carries its hash, so it is cached for a year."""
    questionnaire = _visible_questionnaire(request, slug)
    kind = name.split("-", 1)[0]
    path = brand_image_path(questionnaire, kind) if kind in ("logo", "cover") else None
    if path is None or not path.endswith("/" + name):
        raise Http404("no such picture")
    image = BrandImage.objects.filter(questionnaire=questionnaire, kind=kind).first()
    if image is None:
        raise Http404("no such picture")
    response = HttpResponse(bytes(image.data), content_type=image.content_type)
    patch_cache_control(response, public=True, max_age=365 * 24 * 3600, immutable=True)
    return response


def share_title(questionnaire: Questionnaire) -> str:
    """The share card's title: the one set in the studio, else the questionnaire's title."""
    return questionnaire.share_title or label_text(questionnaire.title)


def share_description(questionnaire: Questionnaire) -> str:
    """The share card's text: the one set in the studio, else the introduction's start."""
    return questionnaire.share_description or label_text(questionnaire.intro)[:120]


def _language_choices(questionnaire: Questionnaire) -> list[dict[str, str]]:
    """The other languages this questionnaire is written in, for the language switch."""
    current = (get_language() or "").lower()
    offered = {code.lower() for code, _name in settings.LANGUAGES}
    return [
        {"code": code, "name": get_language_info(code)["name_local"]}
        for code in questionnaire.languages
        if code.lower() in offered and code.lower() != current
    ]


def _script_messages() -> dict[str, str]:
    """The script's words, in the page's language ({n} and {max} are filled in by it)."""
    return {
        "required": _("This question is required."),
        # {n} is the item's place, {max} its words; {n} of otherRequired the option's words
        "itemRequired": item_missing("{n}", "{max}"),
        "otherRequired": other_missing("{n}"),
        "number": _("Enter a number, such as 12."),
        "whole": _("Enter a whole number."),
        "atLeast": _("Enter a number of at least %s.") % "{n}",
        "atMost": _("Enter a number of at most %s.") % "{n}",
        "tooLong": _("At most %(max)s characters (this has %(count)s).")
        % {"max": "{max}", "count": "{n}"},
        "maxChosen": _("You have chosen %s, the most allowed. Uncheck one to choose another.")
        % "{n}",
        "counter": _("%(count)s of %(max)s characters") % {"count": "{n}", "max": "{max}"},
        "summary": _("Please check these answers:"),
        "question": _("Question %s") % "{n}",
        # A summary line: {n} is "Question 3", {max} the problem.
        "line": _("%(question)s: %(problem)s") % {"question": "{n}", "problem": "{max}"},
        "restored": _("Your unfinished answers from last time were restored."),
        "startOver": _("Start over"),
        "confirmStartOver": _("Start over? The answers on this phone will be cleared."),
        "sending": _("Sending…"),
        # answered questions of those asked (skip logic counted), as "12 / 40"
        "progress": _("%(n)s / %(max)s answered") % {"n": "{n}", "max": "{max}"},
    }
