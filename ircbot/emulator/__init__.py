"""Local Slack emulator (Web API server with state) and a signed-request driver acting as Slack.

Typical use::

    emu = SlackEmulator()
    base_url = emu.start()                      # http://127.0.0.1:PORT/api/
    client = WebClient(token=emu.bot_token, base_url=base_url)
    emu.add_user("U0ALICE", "alice", email="alice@example.com")
    ...
    assert emu.violations == []
    emu.stop()

Socket Mode: a client gets a URL from apps.connections.open with `emu.app_token`; `SocketModeDriver(emu)`
then sends the same commands, clicks, submissions and events over that connection, and can drop it.
"""

from ircbot.emulator.driver import CommandResult, SlackDriver, ViewSubmissionResult
from ircbot.emulator.emulator import SlackEmulator
from ircbot.emulator.socket_driver import SocketModeDriver
from ircbot.emulator.state import CallRecord, Seen, SlackError

__all__ = [
    "CallRecord",
    "CommandResult",
    "Seen",
    "SlackDriver",
    "SlackEmulator",
    "SlackError",
    "SocketModeDriver",
    "ViewSubmissionResult",
]
