"""The App Home tab: shown fresh on every visit, with a button that opens the declare form."""

from __future__ import annotations

from typing import Any

from ircbot.commands import declare
from ircbot.domain import incidents
from ircbot.domain.homes import remember_viewer
from ircbot.domain.messages import OpenModal
from ircbot.domain.services import Services
from ircbot.slack import ids
from ircbot.slack.home import home_view
from ircbot.slack.interactions.base import Answer, Interaction, PublishHome, interaction


def _home_tab(svc: Services, event: dict[str, Any]) -> bool:
    return event.get("tab") == "home"


@interaction("event", "app_home_opened", accepts=_home_tab)
def home_opened(it: Interaction) -> Answer:
    """Publish the open incidents this person may see; later changes to them redraw the tab."""
    remember_viewer(it.svc, it.user)
    return PublishHome(home_view(it.user, incidents.visible_open(it.svc, it.user)))


@interaction("action", ids.HOME_DECLARE, command=declare.run)
def home_declare(it: Interaction) -> Answer:
    """Open the declare form from the Home tab."""
    return OpenModal("declare")
