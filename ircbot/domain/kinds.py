"""Every status and kind the engine stores, as string enums (the stored values are these strings)."""

from __future__ import annotations

from enum import StrEnum


class IncidentStatus(StrEnum):
    """Where an incident stands."""

    OPEN = "open"
    RESOLVED = "resolved"


class TimerStatus(StrEnum):
    """A durable timer (escalation step or reminder): waiting, fired once, or called off."""

    PENDING = "pending"
    FIRED = "fired"
    CANCELLED = "cancelled"


class OutboxStatus(StrEnum):
    """A message decided on: waiting to go, delivered, withheld (ack or resolve came first), or given up."""

    PENDING = "pending"
    SENT = "sent"
    SUPPRESSED = "suppressed"
    FAILED = "failed"


class OutboxKind(StrEnum):
    """What an outbox message delivers."""

    INVITE = "invite"
    DM = "dm"
    EMAIL = "email"
    CHANNEL_LINE = "channel_line"
    REMINDER = "reminder"
    DECLARED = "declared"  # the declarer told that a declare cut short has finished
    ALERT_LINE = "alert_line"  # an alert attached to the incident, or resolved, said in its channel
    WEBHOOK = "webhook"  # a timeline event POSTed, signed, to an endpoint of webhooks.yaml
    CLOCK = "clock"  # a regulatory clock's reminder or overdue notice, to the channel or the owner's DM


PAGE_KINDS = frozenset({OutboxKind.INVITE, OutboxKind.DM, OutboxKind.EMAIL, OutboxKind.CHANNEL_LINE})
"""The parts of a page: an acknowledgement withholds those not yet delivered."""

REPORT_KINDS = frozenset({OutboxKind.WEBHOOK})
"""Reports of what happened: no acknowledgement, re-plan or resolve withholds them (resolved is reported too)."""


class AccessStatus(StrEnum):
    """A request to join a private incident: waiting for a decision, let in, or turned away."""

    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"


class ReminderKind(StrEnum):
    """What a reminder is about."""

    UPDATE = "update"
    CHECKLIST = "checklist"


class NoticeStatus(StrEnum):
    """A notice to an audience: awaiting approval, sent, or dropped."""

    DRAFT = "draft"
    SENT = "sent"
    CANCELLED = "cancelled"


class AlertOutcome(StrEnum):
    """What became of a received alert (None while it waits to be processed)."""

    DECLARED = "declared"  # opened an incident (by a rule, or by Declare in triage)
    ATTACHED = "attached"  # joined the open incident of its group or fingerprint
    DEDUPLICATED = "deduplicated"  # its fingerprint was seen within dedup_window: counted only
    RESOLVED = "resolved"  # the sender says it cleared
    TRIAGE = "triage"  # waiting for Declare / Dismiss in the triage channel
    DISMISSED = "dismissed"  # a false positive, said so in triage
    DROPPED = "dropped"  # a rule drops it
    UNROUTED = "unrouted"  # no rule declares it and no triage channel is configured: stored only


class TimelineKind(StrEnum):
    """What a timeline event records."""

    DECLARED = "declared"
    CHANNEL_CREATED = "channel_created"
    WARNING = "warning"
    ROLE_ASSIGNED = "role_assigned"
    ROLE_RELEASED = "role_released"
    STAGE_ENTERED = "stage_entered"
    STAGE_FORCED = "stage_forced"
    CONTAINED = "contained"
    IMPACT_STARTED = "impact_started"  # when impact began, recorded (or corrected) after the declare
    ITEM_CHECKED = "item_checked"
    ITEM_UNCHECKED = "item_unchecked"
    NOTE = "note"
    ACTION_ITEM = "action_item"
    SEVERITY_CHANGED = "severity_changed"
    ESCALATION = "escalation"
    ESCALATED = "escalated"
    PAGED = "paged"
    PAGE_UNRESOLVED = "page_unresolved"
    ACKNOWLEDGED = "acknowledged"
    JOINED_ON_REQUEST = "joined_on_request"
    JOIN_ASKED = "join_asked"
    JOIN_APPROVED = "join_approved"
    JOIN_DENIED = "join_denied"
    MEMBER_JOINED = "member_joined"
    MEMBER_LEFT = "member_left"
    CAPTURED = "captured"
    STATUS_UPDATE = "status_update"
    REMINDER = "reminder"
    REMINDER_SNOOZED = "reminder_snoozed"
    NOTICE_DRAFTED = "notice_drafted"
    NOTICE_EDITED = "notice_edited"
    NOTICE_SENT = "notice_sent"
    NOTICE_CANCELLED = "notice_cancelled"
    IMPACT = "impact"
    RESOLVED = "resolved"
    POSTMORTEM = "postmortem"
    ALERT = "alert"  # an alert that opened the incident or was attached to it
    ALERT_RESOLVED = "alert_resolved"  # its sender says the condition cleared (the incident stays open)
    EVIDENCE_ADDED = "evidence_added"
    EVIDENCE_TRANSFERRED = "evidence_transferred"
    IOC_ADDED = "ioc_added"  # by hand, or found in a note, pinned message or alert
    DECISION_PROPOSED = "decision_proposed"
    DECISION_VOTED = "decision_voted"  # one approval or rejection, before the decision is settled
    DECISION_APPROVED = "decision_approved"
    DECISION_REJECTED = "decision_rejected"
    CLOCK_STARTED = "clock_started"
    CLOCK_SUBMITTED = "clock_submitted"
    CLOCK_STOPPED = "clock_stopped"
    CLOCK_REMINDER = "clock_reminder"
    CLOCK_OVERDUE = "clock_overdue"
    MOVED_OUT_OF_BAND = "moved_out_of_band"  # the response moved to the out-of-band room
    RETURNED_FROM_OUT_OF_BAND = "returned_from_out_of_band"
    SAID_OUT_OF_BAND = "said_out_of_band"  # a message of the out-of-band room, kept for the record


CARD_KINDS = frozenset(
    {
        TimelineKind.ROLE_ASSIGNED,
        TimelineKind.ROLE_RELEASED,
        TimelineKind.STAGE_ENTERED,
        TimelineKind.ITEM_CHECKED,
        TimelineKind.ITEM_UNCHECKED,
        TimelineKind.SEVERITY_CHANGED,
        TimelineKind.ESCALATED,
        TimelineKind.PAGED,
        TimelineKind.ACKNOWLEDGED,
        TimelineKind.RESOLVED,
        TimelineKind.CLOCK_STARTED,
        TimelineKind.CLOCK_SUBMITTED,
        TimelineKind.CLOCK_STOPPED,
    }
)
"""Events that change what the pinned incident card shows: recording one has the card redrawn."""

HOME_KINDS = CARD_KINDS | {
    TimelineKind.CHANNEL_CREATED,
    TimelineKind.MEMBER_JOINED,
    TimelineKind.JOIN_APPROVED,
    TimelineKind.JOIN_ASKED,
}
"""Events that change what the App Home tabs of the people concerned show: recording one has them redrawn."""
