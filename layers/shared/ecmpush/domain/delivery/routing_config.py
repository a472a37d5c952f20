"""Who the roles and teams named in ECM events are: one validated document, so a typo in a role
name or an empty team is refused when the configuration is loaded, not at 3 a.m. in a sweep."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ecmpush.domain.user_ids import InternalUserId

Role = Literal["records_manager", "compliance_officer", "administrator", "legal", "account_manager"]
TeamId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
Members = Annotated[list[InternalUserId], Field(min_length=1, max_length=1000)]
GovernanceKind = Literal[
    "metadata_validation_failed", "unauthorized_access", "missing_approval", "retention_exception"
]
Channel = Literal["android", "ios", "web"]
Deputies = Annotated[list[InternalUserId], Field(min_length=1, max_length=50)]
MAX_GROUP_MEMBERS = 1_000_000
# An ISO 8601 duration ("PT1H", "P1D") between a minute and a year: anything else is a typo.
Interval = Annotated[timedelta, Field(ge=timedelta(minutes=1), le=timedelta(days=366))]


class EcmGroupTeam(BaseModel):
    """A team whose members are a Content Server group's, read page by page when an event
    names the team (domain/delivery/group_walk.py): a 100,000-person field organisation is
    kept where ECM administrators keep it, not copied into a parameter. Member groups count too."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ecm_group: Annotated[int, Field(ge=1)]
    # Refuse the whole team when the group (or one of its member groups) is larger: a team
    # pointed at "DefaultGroup" by mistake must not page the whole company.
    max_members: Annotated[int, Field(ge=1, le=MAX_GROUP_MEMBERS)] = 100_000


DEFAULT_GOVERNANCE_ROUTES: dict[GovernanceKind, list[Role]] = {
    "metadata_validation_failed": ["records_manager"],
    "unauthorized_access": ["compliance_officer", "administrator"],
    "missing_approval": ["compliance_officer", "records_manager"],
    "retention_exception": ["records_manager", "compliance_officer"],
}


class UnseenTimes(BaseModel):
    """How long a push of one stage may stay unseen, per priority; a priority left out is not
    watched."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    high: Interval | None = None
    normal: Interval | None = None
    low: Interval | None = None


class UnseenConfig(BaseModel):
    """Not seen → the next person (domain/sweeps/unseen.py, docs/design/not-seen.md): an approval
    or review push no device of the assignee displayed or opened within its stage's and
    priority's time is followed by a reminder, and `escalate_after` later by the escalation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    approval: UnseenTimes | None = None
    review: UnseenTimes | None = None
    escalate_after: Interval = timedelta(hours=4)

    def first_check(self, stage: str, priority: str) -> timedelta | None:
        """How long after the push a task of `stage` and `priority` is checked; None when
        such tasks are not watched."""
        times = {"approval": self.approval, "review": self.review}.get(stage)
        if times is None:
            return None
        return {"high": times.high, "normal": times.normal, "low": times.low}.get(priority)


class RoutingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    roles: dict[Role, Members] = {}
    # A team is its members, or the Content Server group that holds them.
    teams: dict[TeamId, Members | EcmGroupTeam] = {}
    # Which roles hear each governance alert kind (defaults above; a kind set here replaces them).
    governance: dict[GovernanceKind, Annotated[list[Role], Field(min_length=1)]] = {}
    # Channels approved for external stakeholders: none unless an operator approves them.
    external_channels: Annotated[list[Channel], Field(max_length=3)] = []
    # Who may take over a user's workflow steps once the SLA ladder escalates: the operator's
    # word, never an event's (an event's supervisor/backup is only told). docs/security.md.
    deputies: dict[InternalUserId, Deputies] = {}
    # Pushes nobody looked at: reminded, then escalated early (None: not watched).
    unseen: UnseenConfig | None = None

    def deputies_of(self, user: str) -> list[str]:
        """The users confirmed to take over `user`'s steps, in configuration order."""
        folded = user.casefold()
        found: dict[str, None] = {}
        for holder, deputies in self.deputies.items():
            if holder.casefold() == folded:
                found.update(dict.fromkeys(d for d in deputies if d.casefold() != folded))
        return list(found)

    def may_take_over(self, holder: str, user: str) -> bool:
        """Whether `user` is confirmed to take over steps held by `holder` (logins compare
        without case, as Content Server's do)."""
        return user.casefold() in {d.casefold() for d in self.deputies_of(holder)}

    def governance_roles(self, kind: str) -> list[str]:
        routes: dict[GovernanceKind, list[Role]] = {**DEFAULT_GOVERNANCE_ROUTES, **self.governance}
        return list(routes.get(kind, []))  # type: ignore[call-overload]

    def members_of_roles(self, roles: list[str]) -> list[str]:
        """Users holding any of `roles`, in configuration order, each once. A role nobody holds
        yields nobody (the caller decides whether that is worth a warning)."""
        users: dict[str, None] = {}
        for role in roles:
            users.update(dict.fromkeys(self.roles.get(role, [])))  # type: ignore[call-overload]
        return list(users)

    def members_of_teams(self, teams: list[str]) -> list[str]:
        """Members listed in the configuration; group-backed teams are `groups_of_teams`."""
        users: dict[str, None] = {}
        for team in teams:
            members = self.teams.get(team, [])
            if isinstance(members, list):
                users.update(dict.fromkeys(members))
        return list(users)

    def groups_of_teams(self, teams: list[str]) -> list[EcmGroupTeam]:
        """The Content Server groups behind `teams`, each once."""
        groups: dict[int, EcmGroupTeam] = {}
        for team in teams:
            found = self.teams.get(team)
            if isinstance(found, EcmGroupTeam):
                groups.setdefault(found.ecm_group, found)
        return list(groups.values())
