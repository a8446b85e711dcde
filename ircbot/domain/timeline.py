"""What a timeline event says, worded when it is read: people are ids in the record, names on the page.

An event stores who (`actor`), what (`kind`) and the facts (`data`, marked `"v": 1`). `describe` words
it for one reader, with `who` turning a user id into what that reader needs: a Slack mention, or a
name in a postmortem. The stored `text` is the same words with plain ids, for whoever reads the
database; kinds that are free text (a note, a captured message, a warning) keep their text as written,
and so do events recorded before their facts were kept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ircbot.domain.kinds import TimelineKind as K
from ircbot.domain.stages import STAGE_TITLES

Who = Callable[[str], str]


WORDED = "v"  # the data key that marks an event whose facts are kept for wording


@dataclass(frozen=True)
class Fact:
    """A timeline event as its wording needs it."""

    actor: str | None
    data: Mapping[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.data[key]


def _stage(name: object) -> str:
    return STAGE_TITLES.get(str(name), str(name))


def _paged(f: Fact, who: Who) -> str:
    names = ", ".join(who(p["user"]) if p.get("user") else f"{p['email']} (e-mail)" for p in f["paged"])
    repeat = f", round {f['round'] + 1}" if f["round"] else ""
    late = f" ({f['late']} late)" if f.data.get("late") else ""
    if f.data.get("about"):
        return f"Paged {names}: {f['about']}"
    return f"Paged tier {f['tier']}{repeat}: {names}{late}"


def _resolved(f: Fact, who: Who) -> str:
    label = " as a false positive" if f["false_positive"] else ""
    return f"{who(f.actor or '')} resolved {f['key']}{label}" + (f": {f['summary']}" if f["summary"] else "")


def _evidence(f: Fact, who: Who) -> str:
    digest = f" ({f['hash']})" if f.data.get("hash") else ""
    fixes = f", correcting EV-{f['corrects']}" if f.data.get("corrects") else ""
    return f"{who(f.actor or '')} registered EV-{f['number']}{fixes}: {f['description']}{digest}"


_WORDING: dict[K, Callable[[Fact, Who], str]] = {
    K.DECLARED: lambda f, who: (
        f"{f['key']} declared{' (drill)' if f['drill'] else ''}: {f['title']} "
        f"({f['severity'].upper()}, playbook {f['playbook_title']})"
    ),
    K.ROLE_ASSIGNED: lambda f, who: f"{who(f['user'])} is {f['title']}",
    K.ROLE_RELEASED: lambda f, who: f"{who(f['user'])} handed {f['title']} over to {who(f['successor'])}",
    K.STAGE_ENTERED: lambda f, who: (
        "Stage: " + (f"{_stage(f['from'])} → {_stage(f['stage'])}" if f.data.get("from") else _stage(f["stage"]))
    ),
    K.STAGE_FORCED: lambda f, who: (
        f"{who(f.actor or '')} moved on with {len(f['skipped'])} required item(s) unticked (--force)"
    ),
    K.ITEM_CHECKED: lambda f, who: f"{who(f.actor or '')} ticked {_stage(f['stage'])} #{f['position']}: {f['item']}",
    K.ITEM_UNCHECKED: lambda f, who: (
        f"{who(f.actor or '')} unticked {_stage(f['stage'])} #{f['position']}: {f['item']}"
    ),
    K.SEVERITY_CHANGED: lambda f, who: f"{who(f.actor or '')} changed severity {f['from'].upper()} → {f['to'].upper()}",
    K.ESCALATED: lambda f, who: f"{who(f.actor or '')} escalated to tier {f['tier']}",
    K.PAGED: _paged,
    K.ACKNOWLEDGED: lambda f, who: (
        f"{who(f.actor or '')} acknowledged the page"
        + (f"; {f['cancelled']} pending tier(s) cancelled" if f["cancelled"] else "")
    ),
    K.JOINED_ON_REQUEST: lambda f, who: f"{who(f.actor or '')} brought in {who(f['user'])} as {f['title']}",
    K.JOIN_ASKED: lambda f, who: (
        f"{who(f.actor or '')} asked to join" + (" and was let in at once (public incident)" if f["public"] else "")
    ),
    K.JOIN_APPROVED: lambda f, who: f"{who(f.actor or '')} let {who(f['user'])} in (request to join approved)",
    K.JOIN_DENIED: lambda f, who: f"{who(f.actor or '')} turned down {who(f['user'])}'s request to join",
    K.MEMBER_JOINED: lambda f, who: f"{who(f.actor or '')} joined the channel",
    K.MEMBER_LEFT: lambda f, who: f"{who(f.actor or '')} left the channel",
    K.STATUS_UPDATE: lambda f, who: f"Status update: {f['status']}",
    K.NOTICE_SENT: lambda f, who: f"Notice to {f['title']} approved and sent by {who(f.actor or '')}: {f['subject']}",
    K.RESOLVED: _resolved,
    K.ALERT: lambda f, who: f"Alert from {f['source']} ({f['severity']}): {f['title']}",
    K.ALERT_RESOLVED: lambda f, who: f"Alert cleared at {f['source']}: {f['title']}",
    K.CLOCK_STARTED: lambda f, who: (
        f"{who(f.actor or '')} started the {f['regime']} clock ({f['name']}), aware since {f['aware']}"
        + (" — drill" if f.data.get("drill") else "")
    ),
    K.CLOCK_SUBMITTED: lambda f, who: (
        f"{who(f.actor or '')} submitted the {f['regime']} {f['report']}"
        + (f" (reference {f['reference']})" if f.data.get("reference") else "")
        + (f", {f['late']} late" if f.data.get("late") else ", on time")
    ),
    K.CLOCK_STOPPED: lambda f, who: f"{who(f.actor or '')} stopped the {f['regime']} clock: {f['reason']}",
    K.CLOCK_REMINDER: lambda f, who: f"Reminded: the {f['regime']} {f['report']} is due in {f['left']}",
    K.CLOCK_OVERDUE: lambda f, who: f"The {f['regime']} {f['report']} is overdue",
    K.MOVED_OUT_OF_BAND: lambda f, who: (
        f"{who(f.actor or '')} moved the response out of band ({f['platform']}), inviting "
        + (", ".join(who(u) for u in f["invited"]) or "nobody")
        + (f"; not mapped, so left out: {', '.join(who(u) for u in f['not_mapped'])}" if f["not_mapped"] else "")
    ),  # the reason stays in the event's data: the worded timeline reaches Slack (the postmortem is uploaded there)
    K.RETURNED_FROM_OUT_OF_BAND: lambda f, who: f"{who(f.actor or '')} moved the response back to Slack",
    K.EVIDENCE_ADDED: _evidence,
    K.EVIDENCE_TRANSFERRED: lambda f, who: (
        f"EV-{f['number']} handed from {who(f['from'])} to {who(f['to'])} by {who(f.actor or '')}: {f['purpose']}"
    ),
    K.IOC_ADDED: lambda f, who: (
        f"Indicator {f['type']} {f['value']} (TLP:{f['tlp'].upper()}) "
        + (f"added by {who(f.actor or '')}" if f["how"] == "added by hand" else f"found in {f['how']}")
    ),
    K.DECISION_PROPOSED: lambda f, who: (
        f"{who(f.actor or '')} proposed D-{f['number']} (needs {f['approvers']} approval(s)): {f['text']}"
    ),
    K.DECISION_VOTED: lambda f, who: (
        f"{who(f.actor or '')} {'approved' if f['approve'] else 'rejected'} D-{f['number']}"
        + (f": {f['reason']}" if f.data.get("reason") else "")
    ),
    K.DECISION_APPROVED: lambda f, who: (
        f"D-{f['number']} approved by {', '.join(who(u) for u in f['approved_by'])}: {f['text']}"
    ),
    K.DECISION_REJECTED: lambda f, who: (
        f"D-{f['number']} rejected by {who(f.actor or '')}"
        + (f" ({f['reason']})" if f.data.get("reason") else "")
        + f": {f['text']}"
    ),
}


def describe(kind: str, *, actor: str | None, text: str, data: Mapping[str, Any], who: Who) -> str:
    """The event in words for one reader."""
    try:
        wording = _WORDING.get(K(kind))
    except ValueError:  # a kind this version does not know
        return text
    if wording is None or data.get(WORDED) != 1:
        return text
    try:
        return wording(Fact(actor, data), who)
    except (KeyError, TypeError):  # facts kept in another shape: the words stored with them still read
        return text


def plain(user_id: str) -> str:
    """A person as the stored text names them: by id."""
    return user_id
