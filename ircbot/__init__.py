"""ircbot: Slack chat-ops for live security-incident response."""

__version__ = "0.1.0"
