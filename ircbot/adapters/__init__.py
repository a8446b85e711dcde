"""Adapters the composition root plugs into the domain's ports: SMTP e-mail, PNG charts and webhook POSTs.

The domain never imports this package; it talks to the ports in `ircbot.domain.ports`.
"""
