"""Questionnaires (definition) and what respondents send (responses and answers).

A questionnaire's structure (questions, their types, option and item codes) is frozen once it
has responses: answers point at questions and options by foreign key with PROTECT, and the
services in ``survey.services.questionnaires`` refuse structural edits with a message. Labels
and scores stay editable; a change to anything the analysis reads bumps
``definition_version`` so the analysis jobs know to recompute. See docs/data-model.md.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from survey.labels import label_text

CODE_PATTERN = r"^[A-Za-z][A-Za-z0-9_]*$"
code_validator = RegexValidator(CODE_PATTERN, _("Use a letter, then letters, digits or _."))
slug_validator = RegexValidator(r"^[a-z0-9-]+$", _("Use lowercase letters, digits and -."))


class Questionnaire(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    class OneResponsePer(models.TextChoices):
        RESPONDENT = "respondent", _("One per respondent")
        NONE = "none", _("No limit")

    slug = models.CharField(_("slug"), max_length=100, unique=True, validators=[slug_validator])
    languages = models.JSONField(_("languages"), default=list, help_text=_("First is the default."))
    title = models.JSONField(_("title"), default=dict)
    intro = models.JSONField(_("introduction"), default=str, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    one_response_per = models.CharField(
        _("one response per"),
        max_length=12,
        choices=OneResponsePer.choices,
        default=OneResponsePer.NONE,
    )
    identity_retention_days = models.PositiveIntegerField(
        _("keep identities for (days)"),
        null=True,
        blank=True,
        help_text=_(
            "After this many days a response's respondent identity and network address hashes "
            "are dropped; the response stays, anonymous. Empty: kept."
        ),
    )
    banner = models.JSONField(
        _("banner"), default=list, blank=True, help_text=_("Question codes and segment:CODE.")
    )
    significance = models.DecimalField(
        _("significance level"), max_digits=5, decimal_places=4, default="0.05"
    )

    class Correction(models.TextChoices):
        HOLM = "holm", _("Holm")
        BONFERRONI = "bonferroni", _("Bonferroni")
        NONE = "none", _("None")

    correction = models.CharField(
        _("multiple-comparison correction"),
        max_length=16,
        choices=Correction.choices,
        default=Correction.HOLM,
        help_text=_(
            "How the cross-tabs' significance letters correct for comparing many columns at once."
        ),
    )
    # Keys of the definition file this version of the platform does not model, kept so an
    # export gives back what was imported.
    extra = models.JSONField(default=dict, blank=True)
    # When responses are taken: an open questionnaire takes them from ``opens_at`` (if set)
    # until ``closes_at`` (if set), and at most ``response_limit`` of them (if set).
    opens_at = models.DateTimeField(_("takes responses from"), null=True, blank=True)
    closes_at = models.DateTimeField(_("takes responses until"), null=True, blank=True)
    response_limit = models.PositiveIntegerField(
        _("at most this many responses"), null=True, blank=True
    )
    # The WeChat share card (empty: the title, and the start of the introduction).
    share_title = models.CharField(_("share card title"), max_length=64, blank=True)
    share_description = models.CharField(_("share card description"), max_length=120, blank=True)
    # The look of the respondent's pages (the definition's ``brand``, see survey.brand): colour,
    # thank-you message, redirect, share prompt, and which ``BrandImage`` rows are the logo and
    # cover (by content hash, so their URLs change when they do).
    brand = models.JSONField(_("brand"), default=dict, blank=True)
    # The definition's ``weights`` as written (margins to rake to, trimming; see
    # analysis.services.weighting): part of the analysis digest.
    weights = models.JSONField(_("weights"), default=dict, blank=True)
    definition_version = models.PositiveIntegerField(
        _("definition version"),
        default=1,
        help_text=_("Raised by every change the analysis reads (scores, segments, validity)."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    opened_at = models.DateTimeField(_("opened"), null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("questionnaire")
        verbose_name_plural = _("questionnaires")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(significance__gt=0) & Q(significance__lt=1),
                name="questionnaire_significance_between_0_and_1",
            ),
            models.CheckConstraint(
                condition=Q(correction__in=["holm", "bonferroni", "none"]),
                name="questionnaire_correction_known",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "open", "closed"]),
                name="questionnaire_status_known",
            ),
            models.CheckConstraint(
                condition=Q(opens_at__isnull=True)
                | Q(closes_at__isnull=True)
                | Q(closes_at__gt=F("opens_at")),
                name="questionnaire_closes_after_it_opens",
            ),
            models.CheckConstraint(
                condition=Q(response_limit__isnull=True) | Q(response_limit__gt=0),
                name="questionnaire_response_limit_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.slug}: {label_text(self.title)}"

    @property
    def weighted(self) -> bool:
        """Whether its definition weights the responses (margins to rake to, or a file)."""
        weights = self.weights or {}
        return bool(weights.get("margins")) or weights.get("from") == "file"

    @property
    def default_language(self) -> str:
        return self.languages[0] if self.languages else settings.LANGUAGE_CODE

    class Window(models.TextChoices):
        """Whether an open questionnaire takes responses now (``window_at``)."""

        TAKING = "taking", _("Taking responses")
        NOT_YET = "not_yet", _("Not open yet")
        ENDED = "ended", _("Ended")
        FULL = "full", _("Full")

    def window_at(self, now: datetime, *, responses: int | None = None) -> str:
        """Where ``now`` falls in the schedule; ``responses`` (the number stored) is needed
        only to say FULL, and only when there is a limit."""
        if self.opens_at is not None and now < self.opens_at:
            return self.Window.NOT_YET
        if self.closes_at is not None and now >= self.closes_at:
            return self.Window.ENDED
        limit = self.response_limit
        if limit is not None and responses is not None and responses >= limit:
            return self.Window.FULL
        return self.Window.TAKING

    def publish(self) -> None:
        """draft or closed → open."""
        if self.status == self.Status.OPEN:
            return
        self.status = self.Status.OPEN
        self.opened_at = timezone.now()
        self.closed_at = None
        self.save(update_fields=["status", "opened_at", "closed_at", "updated_at"])

    def close(self) -> None:
        """open → closed. A draft cannot be closed (it was never open)."""
        if self.status != self.Status.OPEN:
            raise ValueError(
                f"only an open questionnaire can be closed; {self.slug} is {self.status}"
            )
        self.status = self.Status.CLOSED
        self.closed_at = timezone.now()
        self.save(update_fields=["status", "closed_at", "updated_at"])

    def bump_definition_version(self) -> None:
        Questionnaire.objects.filter(pk=self.pk).update(
            definition_version=F("definition_version") + 1, updated_at=timezone.now()
        )
        self.refresh_from_db(fields=["definition_version", "updated_at"])

    @property
    def has_responses(self) -> bool:
        return self.responses.exists()


class Section(models.Model):
    questionnaire = models.ForeignKey(
        Questionnaire,
        on_delete=models.CASCADE,
        related_name="sections",
        verbose_name=_("questionnaire"),
    )
    code = models.CharField(_("code"), max_length=40, validators=[code_validator])
    title = models.JSONField(_("title"), default=str, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("section")
        verbose_name_plural = _("sections")
        ordering = ["questionnaire", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["questionnaire", "code"], name="section_code_unique_in_questionnaire"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code}: {label_text(self.title)}"


class Question(models.Model):
    class Type(models.TextChoices):
        SINGLE = "single", _("Single choice")
        MULTIPLE = "multiple", _("Multiple choice")
        MATRIX = "matrix", _("Matrix (rating scale per item)")
        NUMBER = "number", _("Number")
        NUMBER_GRID = "number_grid", _("Number per item")
        TEXT = "text", _("Text")

    CHOICE_TYPES = {Type.SINGLE, Type.MULTIPLE, Type.MATRIX}
    ITEM_TYPES = {Type.MATRIX, Type.NUMBER_GRID}
    NUMBER_TYPES = {Type.NUMBER, Type.NUMBER_GRID}
    DEFAULT_TEXT_MAX_LENGTH = 2000

    # The questionnaire is stored beside the section so that codes can be unique per
    # questionnaire in the database, not only per section.
    questionnaire = models.ForeignKey(
        Questionnaire,
        on_delete=models.CASCADE,
        related_name="questions",
        verbose_name=_("questionnaire"),
    )
    section = models.ForeignKey(
        Section, on_delete=models.CASCADE, related_name="questions", verbose_name=_("section")
    )
    code = models.CharField(_("code"), max_length=40, validators=[code_validator])
    type = models.CharField(_("type"), max_length=12, choices=Type.choices)
    label = models.JSONField(_("label"), default=str)
    required = models.BooleanField(_("required"), default=True)
    hidden = models.BooleanField(
        _("hidden"),
        default=False,
        help_text=_("No longer asked; its answers stay in the data and the results."),
    )
    show_if = models.TextField(_("show if"), blank=True, default="")
    position = models.PositiveIntegerField(_("position"), default=0)
    min_choices = models.PositiveSmallIntegerField(_("min choices"), null=True, blank=True)
    max_choices = models.PositiveSmallIntegerField(_("max choices"), null=True, blank=True)
    min_value = models.DecimalField(
        _("minimum"), max_digits=20, decimal_places=6, null=True, blank=True
    )
    max_value = models.DecimalField(
        _("maximum"), max_digits=20, decimal_places=6, null=True, blank=True
    )
    integer = models.BooleanField(_("whole numbers only"), default=True)
    max_length = models.PositiveIntegerField(_("max length"), null=True, blank=True)
    straightlining_check = models.BooleanField(_("straight-lining check"), default=False)
    attention_expect = models.CharField(
        _("attention check: expected option"), max_length=40, blank=True, default=""
    )
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["questionnaire", "section__position", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["questionnaire", "code"], name="question_code_unique_in_questionnaire"
            ),
            models.CheckConstraint(
                condition=Q(min_choices__isnull=True)
                | Q(max_choices__isnull=True)
                | Q(min_choices__lte=F("max_choices")),
                name="question_min_choices_le_max_choices",
            ),
            models.CheckConstraint(
                condition=Q(min_value__isnull=True)
                | Q(max_value__isnull=True)
                | Q(min_value__lte=F("max_value")),
                name="question_min_value_le_max_value",
            ),
            models.CheckConstraint(
                condition=Q(
                    type__in=["single", "multiple", "matrix", "number", "number_grid", "text"]
                ),
                name="question_type_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code}: {label_text(self.label)}"

    @property
    def effective_max_length(self) -> int:
        return self.max_length or self.DEFAULT_TEXT_MAX_LENGTH


class Option(models.Model):
    """An option of a single/multiple question, or a scale point of a matrix question."""

    question = models.ForeignKey(
        Question, on_delete=models.CASCADE, related_name="options", verbose_name=_("question")
    )
    # Canonical code: integers are stored as their decimal text ("1"), strings as they are.
    code = models.CharField(_("code"), max_length=40)
    label = models.JSONField(_("label"), default=str)
    score = models.DecimalField(_("score"), max_digits=12, decimal_places=4, null=True, blank=True)
    is_other = models.BooleanField(_("other (please specify)"), default=False)
    exclusive = models.BooleanField(_("exclusive"), default=False)
    hidden = models.BooleanField(
        _("hidden"),
        default=False,
        help_text=_("No longer offered; answers that chose it stay in the data and the results."),
    )
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("option")
        verbose_name_plural = _("options")
        ordering = ["question", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["question", "code"], name="option_code_unique_in_question"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code}: {label_text(self.label)}"


class Item(models.Model):
    """A row of a matrix or number-grid question."""

    question = models.ForeignKey(
        Question, on_delete=models.CASCADE, related_name="items", verbose_name=_("question")
    )
    code = models.CharField(_("code"), max_length=40)
    label = models.JSONField(_("label"), default=str)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("item")
        verbose_name_plural = _("items")
        ordering = ["question", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["question", "code"], name="item_code_unique_in_question"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code}: {label_text(self.label)}"


class DerivedScore(models.Model):
    """A score of a single question (the option's score) or a matrix (mean of item scores)."""

    questionnaire = models.ForeignKey(
        Questionnaire,
        on_delete=models.CASCADE,
        related_name="scores",
        verbose_name=_("questionnaire"),
    )
    code = models.CharField(_("code"), max_length=40, validators=[code_validator])
    question = models.ForeignKey(
        Question,
        on_delete=models.RESTRICT,
        related_name="derived_scores",
        verbose_name=_("question"),
    )
    label = models.JSONField(_("label"), default=str)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("derived score")
        verbose_name_plural = _("derived scores")
        ordering = ["questionnaire", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["questionnaire", "code"], name="score_code_unique_in_questionnaire"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code}: {label_text(self.label)}"


class Segment(models.Model):
    questionnaire = models.ForeignKey(
        Questionnaire,
        on_delete=models.CASCADE,
        related_name="segments",
        verbose_name=_("questionnaire"),
    )
    code = models.CharField(_("code"), max_length=40, validators=[code_validator])
    label = models.JSONField(_("label"), default=str)
    rule = models.TextField(_("rule"))
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["questionnaire", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["questionnaire", "code"], name="segment_code_unique_in_questionnaire"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code}: {label_text(self.label)}"


class ValidityRule(models.Model):
    class Kind(models.TextChoices):
        SPEEDER = "speeder", _("Speeder")
        ATTENTION = "attention", _("Attention check")
        DUPLICATE = "duplicate", _("Duplicate")
        STRAIGHTLINING = "straightlining", _("Straight-lining")

    class Action(models.TextChoices):
        INVALIDATE = "invalidate", _("Invalidate")
        FLAG = "flag", _("Flag for review")

    questionnaire = models.ForeignKey(
        Questionnaire,
        on_delete=models.CASCADE,
        related_name="validity_rules",
        verbose_name=_("questionnaire"),
    )
    kind = models.CharField(_("rule"), max_length=20, choices=Kind.choices)
    action = models.CharField(_("action"), max_length=12, choices=Action.choices)
    # speeder: below_fraction_of_median; straightlining: min_items.
    params = models.JSONField(_("parameters"), default=dict, blank=True)

    class Meta:
        verbose_name = _("validity rule")
        verbose_name_plural = _("validity rules")
        ordering = ["questionnaire", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["questionnaire", "kind"], name="validity_rule_once_per_kind"
            ),
            models.CheckConstraint(
                condition=Q(action__in=["invalidate", "flag"]), name="validity_action_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.action}"


class Respondent(models.Model):
    """Whoever answered, known only by an HMAC of their identity (never the raw value)."""

    class Kind(models.TextChoices):
        WECHAT = "wechat", _("WeChat openid")
        DEVICE = "device", _("Device cookie")
        COLLECTOR = "collector", _("Collector key")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    identity_hash = models.CharField(_("identity hash"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("first seen"), default=timezone.now)

    class Meta:
        verbose_name = _("respondent")
        verbose_name_plural = _("respondents")
        permissions = [
            # Separate from every role: exports carry identity and IP hashes only with it.
            (
                "view_respondent_identity",
                "Can see respondent identity and IP hashes in exports",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.identity_hash[:12]}…"


class Response(models.Model):
    """One submission. Kept whatever its validity: invalid responses are marked, not deleted."""

    class Status(models.TextChoices):
        VALID = "valid", _("Valid")
        INVALID = "invalid", _("Invalid")
        FLAGGED = "flagged", _("Flagged for review")

    class Channel(models.TextChoices):
        WEB = "web", _("Web form")
        WECHAT = "wechat", _("WeChat")
        API = "api", _("Collector API")
        IMPORT = "import", _("Import")

    # Indexed by the composites below, which lead with it (see Meta.indexes).
    questionnaire = models.ForeignKey(
        Questionnaire,
        on_delete=models.PROTECT,
        related_name="responses",
        verbose_name=_("questionnaire"),
        db_index=False,
    )
    respondent = models.ForeignKey(
        Respondent,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="responses",
        verbose_name=_("respondent"),
        db_index=False,
    )
    submission_id = models.UUIDField(_("submission id"), unique=True)
    # sha256 of the canonical answers JSON: a retry with the same id must carry the same answers.
    answers_digest = models.CharField(max_length=64)
    # The answers as accepted (normalised JSON, the format's "Answers" shape). Answer rows below
    # are the indexed form the analysis aggregates; this is the record of what was sent.
    answers = models.JSONField(default=dict)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    definition_version = models.PositiveIntegerField()
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.VALID
    )
    # Which validity rules this response breaks (as the questionnaire's rules are configured).
    # Flags, not a list, so the analysis can recompute them with set-based UPDATEs and filters
    # can use them; ``reasons`` lists them in words.
    speeder = models.BooleanField(_("speeder"), default=False)
    attention_failed = models.BooleanField(_("failed attention check"), default=False)
    duplicate = models.BooleanField(_("duplicate"), default=False)
    straightlined = models.BooleanField(_("straight-lined"), default=False)
    # True until an analysis run has applied the rules that need all submissions (speeder).
    status_provisional = models.BooleanField(default=True)
    # The rules ``attention_failed`` and ``straightlined`` were judged by: their stamp
    # (``survey.services.validity.judging_stamp``), 0 for never (loaded by COPY, or stored
    # before stamps existed). Those flags depend on this response's answers and those rules
    # alone, so a recompute judges again only the responses whose stamp is not the current
    # rules'.
    validity_judged = models.BigIntegerField(default=0, db_default=0)
    # It fell in a quota cell that was already full (see ``Quota``): kept, not counted.
    over_quota = models.BooleanField(_("over quota"), default=False, db_default=False)
    # Its weight from the latest analysis run's raking (None: unweighted, or not counted).
    weight = models.FloatField(_("weight"), null=True, blank=True)
    # Its weight as imported from a file (definitions with ``weights: {from: file}``); the
    # run scales these to mean 1 into ``weight``.
    given_weight = models.FloatField(_("given weight"), null=True, blank=True)
    # A person's decision overrides the rules; recomputation keeps it.
    manual_status = models.CharField(
        _("manual status"), max_length=10, choices=Status.choices, blank=True, default=""
    )
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("submitted"), default=timezone.now)
    duration_seconds = models.FloatField(_("duration (s)"), null=True, blank=True)
    ip_hash = models.CharField(max_length=64, blank=True, default="")
    received_at = models.DateTimeField(_("received"), default=timezone.now)

    class Meta:
        verbose_name = _("response")
        verbose_name_plural = _("responses")
        ordering = ["-submitted_at", "-id"]
        indexes = [
            models.Index(fields=["questionnaire", "status"], name="response_q_status"),
            models.Index(fields=["questionnaire", "submitted_at"], name="response_q_submitted"),
            # A respondent's responses in submission order: the duplicate rule's probe and the
            # submit path's "an earlier one?" read it alone (index-only); the foreign key's
            # checks use it too. Anonymous responses (most) are not in it.
            models.Index(
                fields=["respondent", "questionnaire", "submitted_at", "id"],
                name="response_respondent_order",
                condition=Q(respondent__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["valid", "invalid", "flagged"]),
                name="response_status_known",
            ),
            models.CheckConstraint(
                condition=Q(manual_status__in=["", "valid", "invalid", "flagged"]),
                name="response_manual_status_known",
            ),
            models.CheckConstraint(
                condition=Q(started_at__isnull=True) | Q(started_at__lte=F("submitted_at")),
                name="response_started_before_submitted",
            ),
        ]

    # Rule kind (as in definition files) → the flag that records it, in reporting order.
    REASON_FIELDS = {
        "speeder": "speeder",
        "attention": "attention_failed",
        "duplicate": "duplicate",
        "straightlining": "straightlined",
    }

    def __str__(self) -> str:
        return f"{self.questionnaire_id}/{self.submission_id}"

    @property
    def reasons(self) -> list[str]:
        """The validity rules this response breaks, e.g. ``["attention", "duplicate"]``."""
        return [kind for kind, field in self.REASON_FIELDS.items() if getattr(self, field)]


class ResponseChange(models.Model):
    """A response added, re-judged or deleted since the analysis last read its chunk.

    Written in the same transaction as the change (so a change that commits is never missed,
    and one that rolls back leaves nothing); read and deleted by the live results
    (``analysis.services.live``), which recompute only the chunks these fall in. Append-only
    on the submission path: concurrent submissions never wait on each other for it.
    """

    questionnaire = models.ForeignKey(Questionnaire, on_delete=models.CASCADE, related_name="+")
    response_id = models.BigIntegerField()  # no foreign key: a deleted response is a change

    class Meta:
        verbose_name = _("response change")
        verbose_name_plural = _("response changes")

    def __str__(self) -> str:
        return f"response {self.response_id} changed"


def responses_changed(questionnaire_id: int, response_ids: list[int]) -> None:
    """Record that these responses changed (inside the transaction that changes them)."""
    if not response_ids:
        return
    ResponseChange.objects.bulk_create(
        [ResponseChange(questionnaire_id=questionnaire_id, response_id=pk) for pk in response_ids],
        batch_size=5000,
    )


class Answer(models.Model):
    """One answered cell: a chosen option, a matrix item's scale point, a number, or a text.

    single → one row (option); multiple → one row per chosen option; matrix → one row per
    answered item (item + option); number → one row (number); number_grid → one row per item
    (item + number); text → one row (text). The free text of an ``other`` option is ``text`` on
    that option's row. Aggregation is GROUP BY question, item, option over these rows.

    ``question``, ``item`` and ``option`` have no foreign-key constraint in the database: its
    checks cost each submission ~50 row locks on the same few rows (0.6–0.8 ms of the
    database's 2.5–3 ms, bench/RESULTS.md). What they guarded is kept another way. Deleting a
    question, item or option that has answers is refused by ``PROTECT`` (the ORM looks for
    answers first) and, on PostgreSQL, by a trigger however it is deleted (migration 0029),
    which waits for submissions in flight on the questionnaire. A submission validated
    against a definition that an import or a deletion replaces meanwhile is not stored: its
    INSERT stores nothing unless the questionnaire row is still the one it was validated
    against, read under a share lock that their ``FOR UPDATE`` waits for
    (``survey.services.responses._store``), and it is validated again.
    """

    response = models.ForeignKey(
        Response,
        on_delete=models.CASCADE,
        related_name="answer_rows",
        db_index=False,
        verbose_name=_("response"),
    )
    question = models.ForeignKey(
        Question,
        on_delete=models.PROTECT,
        related_name="answers",
        # answer_question_option leads with question_id: a second index on it alone served no
        # query better and cost every submission ~50 more index insertions.
        db_index=False,
        # No database constraint on question, item and option (see the class docstring).
        db_constraint=False,
        verbose_name=_("question"),
    )
    item = models.ForeignKey(
        Item,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="answers",
        db_constraint=False,
        verbose_name=_("item"),
    )
    option = models.ForeignKey(
        Option,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="answers",
        db_constraint=False,
        verbose_name=_("option"),
    )
    number = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    text = models.TextField(blank=True, default="")

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        indexes = [
            # Serves the FK, "answers of a response" and the Exists() filters of segment rules.
            models.Index(fields=["response", "question"], name="answer_response_question"),
            # Counts per question and option, scores joined through option, the PROTECT check
            # of a question's deletion (question_id leads).
            models.Index(fields=["question", "option"], name="answer_question_option"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(option__isnull=False) | Q(number__isnull=False) | ~Q(text=""),
                name="answer_has_a_value",
            )
        ]

    def __str__(self) -> str:
        return f"{self.response_id}:{self.question_id}"


class DefinitionDraft(models.Model):
    """The next version of a questionnaire's definition, edited apart from the one in force.

    One per questionnaire. ``document`` is a questionnaire/v1 document; ``revision`` rises on
    every save (the API's ETag is built from it, so two editors cannot overwrite each other);
    ``based_on_version`` is the ``definition_version`` it was drafted from and ``based_on`` the
    ETag of that definition. Publishing applies it as the next definition version and deletes
    it (``survey.services.drafts``)."""

    questionnaire = models.OneToOneField(
        Questionnaire,
        on_delete=models.CASCADE,
        related_name="draft",
        verbose_name=_("questionnaire"),
    )
    document = models.JSONField(_("definition"))
    revision = models.PositiveIntegerField(_("revision"), default=1)
    based_on_version = models.PositiveIntegerField(_("based on definition version"))
    # The ETag of the definition in force when the draft was made: publishing refuses a draft
    # whose base has changed since (an edit in the admin would otherwise be overwritten).
    based_on = models.CharField(_("based on"), max_length=40, default="", blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("updated by"),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("definition draft")
        verbose_name_plural = _("definition drafts")

    def __str__(self) -> str:
        return f"{self.questionnaire_id} draft r{self.revision}"


class ShareImage(models.Model):
    """The picture of a questionnaire's WeChat share card (a small PNG or JPEG), kept apart so
    that reading a questionnaire never reads it; served at ``/s/<slug>/share-image``."""

    questionnaire = models.OneToOneField(
        Questionnaire,
        on_delete=models.CASCADE,
        related_name="share_image",
        verbose_name=_("questionnaire"),
    )
    data = models.BinaryField(_("picture"))
    content_type = models.CharField(max_length=20)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("share card picture")
        verbose_name_plural = _("share card pictures")

    def __str__(self) -> str:
        return f"{self.questionnaire_id} share picture"


class Quota(models.Model):
    """A quota of the definition: cells over single-choice questions (``of``), each with a
    target count of valid responses (``QuotaCell``), and what a full cell does: ``end`` shows
    the respondent the "full" page, ``mark`` takes the response in, marked over quota. Either
    way the response is stored (and marked); only counted responses fill a cell."""

    class WhenFull(models.TextChoices):
        END = "end", _("end the questionnaire")
        MARK = "mark", _("take it in, marked over quota")

    questionnaire = models.ForeignKey(
        Questionnaire,
        on_delete=models.CASCADE,
        related_name="quotas",
        verbose_name=_("questionnaire"),
    )
    code = models.CharField(_("code"), max_length=64, validators=[code_validator])
    label = models.JSONField(_("label"), default=str, blank=True)
    of = models.JSONField(_("questions"), default=list)
    when_full = models.CharField(
        _("when a cell is full"), max_length=8, choices=WhenFull.choices, default=WhenFull.END
    )
    position = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("quota")
        verbose_name_plural = _("quotas")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["questionnaire", "code"], name="quota_code_unique"),
            models.CheckConstraint(
                condition=Q(when_full__in=["end", "mark"]), name="quota_when_full_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.questionnaire_id} {self.code}"


class QuotaCell(models.Model):
    """One cell of a quota: the options it takes (``when``, question code → option code as the
    definition writes it; ``key`` is their canonical text, in ``of`` order), its target and
    how many counted responses fill it. ``filled`` only grows at submit by a conditional UPDATE
    (``filled < target``), so concurrent submissions cannot overfill it; a recount sets it
    from the responses when validity changes."""

    quota = models.ForeignKey(
        Quota, on_delete=models.CASCADE, related_name="cells", verbose_name=_("quota")
    )
    key = models.CharField(max_length=400)
    when = models.JSONField(default=dict)
    target = models.PositiveIntegerField(_("target"))
    filled = models.PositiveIntegerField(_("filled"), default=0)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("quota cell")
        verbose_name_plural = _("quota cells")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["quota", "key"], name="quota_cell_key_unique"),
            models.CheckConstraint(condition=Q(target__gt=0), name="quota_cell_target_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quota_id} {self.key}: {self.filled}/{self.target}"


class BrandImage(models.Model):
    """A questionnaire's logo or cover picture (PNG or JPEG), kept apart so that reading a
    questionnaire never reads it; served at ``/s/<slug>/brand/<kind>-<hash>`` for a year."""

    class Kind(models.TextChoices):
        LOGO = "logo", _("logo")
        COVER = "cover", _("cover picture")

    questionnaire = models.ForeignKey(
        Questionnaire,
        on_delete=models.CASCADE,
        related_name="brand_images",
        verbose_name=_("questionnaire"),
    )
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    sha256 = models.CharField(max_length=64)
    content_type = models.CharField(max_length=20)
    data = models.BinaryField(_("picture"))

    class Meta:
        verbose_name = _("brand picture")
        verbose_name_plural = _("brand pictures")
        constraints = [
            models.UniqueConstraint(fields=["questionnaire", "kind"], name="brand_image_one_each")
        ]

    def __str__(self) -> str:
        return f"{self.questionnaire_id} {self.kind}"


class DefinitionUndo(models.Model):
    """One step of a draft's undo stack: the document as it was before a save (the newest row
    is undone first; ``survey.services.drafts`` keeps the newest ``UNDO_DEPTH``)."""

    questionnaire = models.ForeignKey(
        Questionnaire,
        on_delete=models.CASCADE,
        related_name="draft_undo",
        verbose_name=_("questionnaire"),
    )
    document = models.JSONField(_("definition"))
    pushed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("draft undo step")
        verbose_name_plural = _("draft undo steps")
        indexes = [models.Index(fields=["questionnaire", "-id"], name="definition_undo_newest")]

    def __str__(self) -> str:
        return f"{self.questionnaire_id} undo step {self.pk}"


class QuestionnaireAccess(models.Model):
    """Grants an analyst (or collector) access to one questionnaire. Admins see everything."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="questionnaire_access",
        verbose_name=_("user"),
    )
    questionnaire = models.ForeignKey(
        Questionnaire,
        on_delete=models.CASCADE,
        related_name="access_grants",
        verbose_name=_("questionnaire"),
    )
    granted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("questionnaire access")
        verbose_name_plural = _("questionnaire access")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "questionnaire"], name="access_once_per_user_and_questionnaire"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.questionnaire_id}"


class StatusChange(models.Model):
    """A person's decision on a response's status: who, when, from what, to what, and why."""

    response = models.ForeignKey(
        Response,
        on_delete=models.CASCADE,
        related_name="status_changes",
        verbose_name=_("response"),
    )
    from_status = models.CharField(max_length=10, choices=Response.Status.choices)
    to_status = models.CharField(max_length=10, choices=Response.Status.choices)
    reason = models.TextField(_("reason"))
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="status_changes",
        verbose_name=_("changed by"),
    )
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.response_id}: {self.from_status} → {self.to_status}"


class AuditEvent(models.Model):
    """Something a person did with collected data that must be answerable for later: who,
    when, what, on which questionnaire, and the details (an export's kind, format, filters and
    row count; a status override's response and reason).

    Generic on purpose: ``survey`` is the lower layer, so both apps record here (``analysis``
    its exports, ``survey`` its reviews) through ``survey.services.audit.audit_event_record``.
    Rows are only added, never changed by a person (the admin is read-only); the actor and the
    questionnaire are kept as text in ``details`` too, so deleting either leaves the record.
    """

    class Action(models.TextChoices):
        EXPORT = "export", _("Export")
        STATUS_OVERRIDE = "status_override", _("Status override")
        RESPONDENT_FORGET = "respondent_forget", _("Respondent's data deleted on request")
        IDENTITY_RETENTION = (
            "identity_retention",
            _("Identities dropped after the retention period"),
        )
        ACCESS_GRANT = "access_grant", _("Access granted")
        ACCESS_REVOKE = "access_revoke", _("Access revoked")
        TOKEN_CREATE = "token_create", _("Collector token created")
        TOKEN_REVOKE = "token_revoke", _("Collector token revoked")

    action = models.CharField(_("action"), max_length=40, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_events",
        verbose_name=_("who"),
    )
    questionnaire = models.ForeignKey(
        Questionnaire,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_events",
        verbose_name=_("questionnaire"),
    )
    at = models.DateTimeField(_("when"), default=timezone.now)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["questionnaire", "-at"], name="audit_event_questionnaire_at"),
            models.Index(fields=["action", "-at"], name="audit_event_action_at"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    action__in=[
                        "export",
                        "status_override",
                        "respondent_forget",
                        "identity_retention",
                        "access_grant",
                        "access_revoke",
                        "token_create",
                        "token_revoke",
                    ]
                ),
                name="audit_event_action_known",
            )
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} by {self.details.get('actor', '?')}"
