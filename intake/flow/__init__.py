"""The citizen's conversation: data plus one pure function.

`step(state, message, context)` returns the new state, what to say, and what should happen
(file a report, look up a ticket). It reads no clock and touches no storage: the pipeline feeds
it and applies its effects, so it behaves the same on every channel and in every test.

A report is a set of slots (consent, description, category, location, photos, privacy). After
every answer the conversation moves to the first slot still missing, so "edit the location"
simply clears that slot and the same rule brings the citizen back to the summary.

The modules, by job:

    state.py      ConversationState and its Step, the report draft, their JSON form
    context.py    FlowContext: the time, the city's Catalog, the channel's capabilities
    effects.py    what the pipeline must do after a step (FileReport, AddInfo...), and Outcome
    questions.py  how each question is asked and its answer read, per channel capabilities
    slots.py      moving to the first slot still missing; the question open now
    location.py   where the problem is: a GPS point, a typed place, the kecamatan/kelurahan menus
    followups.py  rating, reopening, adding to and supporting a filed report
    steps.py      `step` itself: commands, then the handler of the current step
"""

from intake.flow.context import FlowContext
from intake.flow.effects import (
    AddInfo,
    CheckStatus,
    ConversationEnded,
    Effect,
    FileReport,
    FindDuplicates,
    Outcome,
    RateReport,
    ReopenReport,
    SupportReport,
)
from intake.flow.followups import add_info_ready, add_info_refused, duplicate_found
from intake.flow.questions import followup_reply, rating_choices
from intake.flow.state import ConversationState, Step
from intake.flow.steps import report_filed, step
from intake.types import PlaceMatch, ReportDraft

__all__ = [
    "AddInfo",
    "CheckStatus",
    "ConversationEnded",
    "ConversationState",
    "Effect",
    "FileReport",
    "FindDuplicates",
    "FlowContext",
    "Outcome",
    "PlaceMatch",
    "RateReport",
    "ReopenReport",
    "ReportDraft",
    "Step",
    "SupportReport",
    "add_info_ready",
    "add_info_refused",
    "duplicate_found",
    "followup_reply",
    "rating_choices",
    "report_filed",
    "step",
]
