"""Who may do what: roles, and grants of questionnaires.

A role (the groups ``admin``, ``analyst``, ``collector``; superusers count as admin) says
what kind of work a user does. Which questionnaires they do it on is a separate grant
(``QuestionnaireAccess``), checked where the questionnaire is looked up
(``questionnaire_for_user``). Admins need no grant. The API's permission classes
(``wenji.api.permissions``) and every page build on these functions.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection

from survey.models import Questionnaire, QuestionnaireAccess
from wenji.lru import LocalLru

ADMIN = "admin"
ANALYST = "analyst"
COLLECTOR = "collector"

ROLES = (ADMIN, ANALYST, COLLECTOR)

_ROLES_ATTRIBUTE = "_wenji_roles"


def user_roles(user: AbstractBaseUser | AnonymousUser | None) -> frozenset[str]:
    """The user's roles; one query per user object (none when the token authentication has
    read them already), then remembered on it."""
    if user is None or not user.is_authenticated:
        return frozenset()
    roles = getattr(user, _ROLES_ATTRIBUTE, None)
    if roles is None:
        roles = remember_roles(
            user, user.groups.filter(name__in=ROLES).values_list("name", flat=True)
        )
    return roles


def remember_roles(user: AbstractBaseUser, groups: Iterable[str]) -> frozenset[str]:
    """Remember ``user``'s roles from the names of the role groups they are in."""
    roles = frozenset(groups) | ({ADMIN} if user.is_superuser else frozenset())
    setattr(user, _ROLES_ATTRIBUTE, roles)
    return roles


def is_admin(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    return ADMIN in user_roles(user)


def questionnaire_for_user(
    *, slug: str, user: AbstractBaseUser | None, admin: bool
) -> Questionnaire | None:
    """The questionnaire ``slug`` if ``user`` may work on it: admins see every questionnaire,
    anyone else only those granted to them through ``QuestionnaireAccess``. One query, whose
    SQL is compiled once per process (every API call of one questionnaire starts here; the
    ORM's compiling and its parameters cost more than the database did)."""
    if admin:
        return _first_questionnaire(granted=False, params=[slug])
    if user is None or not user.is_authenticated:
        return None
    return _first_questionnaire(granted=True, params=[slug, user.pk])


def _first_questionnaire(*, granted: bool, params: list[Any]) -> Questionnaire | None:
    statement, names, query, converters = _questionnaire_statement(granted, connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        row = cursor.fetchone()
    if row is None:
        return None
    compiler = query.get_compiler(connection=connection)  # the values as the ORM reads them
    (values,) = compiler.apply_converters([row], converters)
    return Questionnaire.from_db(connection.alias, names, values)


@functools.cache
def _questionnaire_statement(granted: bool, vendor: str) -> tuple[str, list[str], Any, Any]:
    """``Questionnaire.objects.filter(slug=…[, access_grants__user=…]).first()`` as SQL with
    its parameters in that order; the attribute names of its columns and their converters."""
    questionnaires = Questionnaire.objects.filter(slug="slug")
    if granted:
        questionnaires = questionnaires.filter(access_grants__user_id=-1)
    query = questionnaires.order_by("pk")[:1].query
    compiler = query.get_compiler(connection=connection)
    statement, params = compiler.as_sql()
    if list(params) != ["slug", -1][: 1 + granted]:
        raise AssertionError(f"unexpected parameters of the questionnaire lookup: {params}")
    columns = [column for column, _sql, _alias in compiler.select]
    names = [column.target.attname for column in columns]
    return statement, names, query, compiler.get_converters(columns)


def questionnaire_granted(*, questionnaire: Questionnaire, user: AbstractBaseUser) -> bool:
    return QuestionnaireAccess.objects.filter(questionnaire=questionnaire, user_id=user.pk).exists()


def may_read_definition(
    user: AbstractBaseUser | AnonymousUser | None, questionnaire: Questionnaire
) -> bool:
    """Open and closed definitions are public (a closed one is harmless and lets a client
    show why it no longer accepts answers); a draft is for admins and granted analysts."""
    if questionnaire.status != Questionnaire.Status.DRAFT:
        return True
    if is_admin(user):
        return True
    return ANALYST in user_roles(user) and questionnaire_granted(
        questionnaire=questionnaire, user=user
    )


# --- questionnaires remembered for the submit path --------------------------------------------

# (slug, user id or None for admins) → the questionnaire found; entries are never handed out
# themselves (a caller may refresh what it gets).
_remembered: LocalLru[tuple[str, int | None], Questionnaire] = LocalLru(512)


def _remembered_key(slug: str, user: AbstractBaseUser, admin: bool) -> tuple[str, int | None]:
    return slug, None if admin else user.pk


def questionnaire_for_user_remembered(
    *, slug: str, user: AbstractBaseUser, admin: bool
) -> tuple[Questionnaire | None, bool]:
    """``questionnaire_for_user``, but a questionnaire this process found before for the same
    slug and user comes back without a query: (a copy of it as it was read then, True). It
    may have changed since, been closed or deleted, or its grant revoked.

    Only for a caller that stores nothing on its strength unless the statement that stores
    checks the row is unchanged and still granted (``response_submit`` with ``granted_to``),
    and that calls ``questionnaire_forget`` and asks ``questionnaire_for_user`` again when
    that check or anything else refuses. The submit path does: one query fewer per submission
    (its lookup cost a collector's submission 0.5 ms of the app's 3–5 ms)."""
    found = _remembered.get(_remembered_key(slug, user, admin))
    if found is not None:
        return copy.copy(found), True
    return questionnaire_for_user(slug=slug, user=user, admin=admin), False


def questionnaire_remember(
    *, slug: str, user: AbstractBaseUser, admin: bool, questionnaire: Questionnaire
) -> None:
    """Remember ``questionnaire`` (the caller's, no longer changed) as what ``slug`` is for
    this user."""
    _remembered.put(_remembered_key(slug, user, admin), questionnaire)


def questionnaire_forget(*, slug: str, user: AbstractBaseUser, admin: bool) -> None:
    _remembered.pop(_remembered_key(slug, user, admin))


def remembered_questionnaires_clear() -> None:
    _remembered.clear()
