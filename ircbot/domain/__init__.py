"""The incident-response domain: no Slack imports, driven through ports."""
