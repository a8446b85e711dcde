"""auth, users, usergroups, views, files, canvases and bookmarks handlers."""

from __future__ import annotations

import hashlib
import mimetypes
import secrets
import time
from typing import Any

from ircbot.emulator.api_conversations import Handler
from ircbot.emulator.blocks import MAX_BLOCKS_VIEW, block_problems, flatten_view
from ircbot.emulator.state import SlackError, State

# Methods Slack has switched off; they answer method_deprecated whatever the arguments.
DEPRECATED_METHODS = frozenset({"files.upload"})
# Methods called with the app-level token (xapp-…); every other method takes the bot token.
APP_LEVEL_METHODS = frozenset({"apps.connections.open"})


def auth_test(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """Identity of the bot token (Bolt calls this on the first request)."""
    return {
        "url": f"https://{state.team_domain}.slack.com/",
        "team": state.team_name,
        "user": "ircbot",
        "team_id": state.team_id,
        "user_id": state.bot_user_id,
        "bot_id": state.bot_id,
        "is_enterprise_install": False,
    }


def apps_connections_open(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """A WebSocket URL for one Socket Mode connection; its ticket opens one connection only."""
    if not state.socket_url:
        raise SlackError("internal_error")
    ticket = secrets.token_urlsafe(24)
    with state.lock:
        state.socket_tickets[ticket] = False
    return {"url": f"{state.socket_url}/link/?ticket={ticket}"}


def users_info(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """A user's full record."""
    user = state.users.get(str(args["user"]))
    if user is None:
        raise SlackError("user_not_found")
    return {"user": user}


def users_lookup_by_email(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """Find a user by email address (case-insensitive)."""
    wanted = str(args["email"]).lower()
    for user in state.users.values():
        if str(user["profile"].get("email", "")).lower() == wanted:
            return {"user": user}
    raise SlackError("users_not_found")


def usergroups_users_list(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """Members of a user group."""
    group = state.usergroups.get(str(args["usergroup"]))
    if group is None:
        raise SlackError("no_such_subteam")
    return {"users": list(group["users"])}


def _view_problems(view: Any, allowed_types: set[str]) -> list[str]:
    """Schema problems with a view payload (a practical subset of Slack's checks)."""
    if not isinstance(view, dict):
        return ["view: must be an object"]
    problems: list[str] = []
    if view.get("type") not in allowed_types:
        problems.append(f"view/type: must be one of {sorted(allowed_types)}")
    if view.get("type") == "modal":
        title = view.get("title")
        if not isinstance(title, dict) or title.get("type") != "plain_text" or not title.get("text"):
            problems.append("view/title: required plain_text object")
        elif len(title["text"]) > 24:
            problems.append("view/title/text: must be at most 24 characters")
        for key in ("submit", "close"):
            if key in view and len(str(view[key].get("text", ""))) > 24:
                problems.append(f"view/{key}/text: must be at most 24 characters")
        has_input = any(b.get("type") == "input" for b in view.get("blocks", []) if isinstance(b, dict))
        if has_input and "submit" not in view:
            problems.append("view/submit: required when the view has input blocks")
    if len(str(view.get("private_metadata", ""))) > 3000:
        problems.append("view/private_metadata: must be at most 3000 characters")
    if len(str(view.get("callback_id", ""))) > 255:
        problems.append("view/callback_id: must be at most 255 characters")
    problems += block_problems(view.get("blocks", []), MAX_BLOCKS_VIEW)
    return problems


def _store_view(state: State, view: dict[str, Any], user_id: str, view_id: str | None = None) -> dict[str, Any]:
    """Turn a submitted view into the stored view object Slack would return."""
    view_id = view_id or state.new_id("V")
    stored = {
        "id": view_id,
        "team_id": state.team_id,
        "type": view["type"],
        "title": view.get("title"),
        "blocks": view.get("blocks", []),
        "close": view.get("close"),
        "submit": view.get("submit"),
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "external_id": view.get("external_id", ""),
        "state": {"values": {}},
        "hash": hashlib.sha1(f"{view_id}{time.time()}".encode()).hexdigest()[:20],
        "clear_on_close": bool(view.get("clear_on_close", False)),
        "notify_on_close": bool(view.get("notify_on_close", False)),
        "root_view_id": view_id,
        "previous_view_id": None,
        "app_id": state.app_id,
        "bot_id": state.bot_id,
    }
    state.view_owners[view_id] = user_id
    return stored


def views_open(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """Open a modal for the user whose interaction issued the trigger id (valid for trigger_ttl s)."""
    trigger_id = args.get("trigger_id") or args.get("interactivity_pointer")
    if not trigger_id:
        raise SlackError("invalid_arguments", ["[ERROR] missing required field: trigger_id"])
    with state.lock:
        trigger = state.triggers.get(str(trigger_id))
        if trigger is None:
            raise SlackError("invalid_trigger_id")
        if trigger["used"]:
            raise SlackError("exchanged_trigger_id")
        if time.time() - trigger["issued_at"] > state.trigger_ttl:
            raise SlackError("expired_trigger_id")
        problems = _view_problems(args["view"], {"modal"})
        if problems:
            raise SlackError("invalid_arguments", [f"[ERROR] {p}" for p in problems])
        trigger["used"] = True
        user_id = trigger["user_id"] or ""
        view = _store_view(state, args["view"], user_id)
        state.views[view["id"]] = view
        state.note_seen(user_id, "modal", "view", flatten_view(view))
        return {"view": view}


def views_publish(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """Publish a user's App Home tab."""
    user_id = str(args["user_id"])
    if not state.is_human(user_id):
        raise SlackError("user_not_found")
    problems = _view_problems(args["view"], {"home"})
    if problems:
        raise SlackError("invalid_arguments", [f"[ERROR] {p}" for p in problems])
    with state.lock:
        current = state.home_tabs.get(user_id)
        if args.get("hash") and current is not None and args["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        view = _store_view(state, args["view"], user_id, current["id"] if current else None)
        state.home_tabs[user_id] = view
        state.note_seen(user_id, "home", "home", flatten_view(view))
        return {"view": view}


def files_get_upload_url_external(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """Reserve a file id and an upload URL on this server."""
    file_id = state.new_id("F")
    with state.lock:
        state.files[file_id] = {
            "id": file_id,
            "name": str(args["filename"]),
            "title": str(args["filename"]),
            "length": int(args["length"]),
            "content": None,
            "channels": [],
            "created": int(state.clock()),
        }
    return {"upload_url": f"{state.url}/upload/{file_id}", "file_id": file_id}


def api_file(state: State, f: dict[str, Any]) -> dict[str, Any]:
    """A file object as files.* methods return it."""
    mimetype = mimetypes.guess_type(f["name"])[0] or "application/octet-stream"
    return {
        "id": f["id"],
        "name": f["name"],
        "title": f["title"],
        "mimetype": mimetype,
        "filetype": f["name"].rsplit(".", 1)[-1] if "." in f["name"] else "binary",
        "size": len(f["content"] or b""),
        "user": state.bot_user_id,
        "created": f["created"],
        "channels": list(f["channels"]),
        "url_private": f"{state.url}/files/{f['id']}",
        "permalink": f"https://{state.team_domain}.slack.com/files/{state.bot_user_id}/{f['id']}",
    }


def files_complete_upload_external(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """Finish uploads and optionally share them into one channel as a message."""
    entries = args["files"]
    if not isinstance(entries, list) or not entries:
        raise SlackError("invalid_arguments", ["[ERROR] files must be a non-empty array"])
    channel_ref = args.get("channel_id") or (str(args.get("channels", "")).split(",")[0] or None)
    with state.lock:
        found = []
        for entry in entries:
            f = state.files.get(str(entry.get("id")))
            if f is None or f["content"] is None:
                raise SlackError("file_not_found")
            if len(f["content"]) != f["length"]:
                state.violations.append(
                    f"file {f['id']}: declared length {f['length']}, uploaded {len(f['content'])} bytes"
                )
            f["title"] = entry.get("title") or f["title"]
            found.append(f)
        if channel_ref:
            channel = state.find_channel(str(channel_ref), loose=False)
            state.require_member(channel, private_only=True)
            for f in found:
                f["channels"].append(channel["id"])
            state.post(
                channel["id"],
                user=state.bot_user_id,
                text=args.get("initial_comment"),
                thread_ts=args.get("thread_ts"),
                files=[api_file(state, f) for f in found],
            )
        return {"files": [api_file(state, f) for f in found]}


def files_upload(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """Slack retired files.upload; it now always answers method_deprecated."""
    raise SlackError("method_deprecated")


def canvases_create(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """Create a standalone or channel canvas from markdown."""
    content = args.get("document_content")
    if content is not None and (not isinstance(content, dict) or content.get("type") != "markdown"):
        raise SlackError("invalid_arguments", ["[ERROR] document_content must be {type: markdown, markdown}"])
    with state.lock:
        channel = state.find_channel(str(args["channel_id"]), loose=False) if args.get("channel_id") else None
        canvas_id = state.new_id("F")
        state.canvases[canvas_id] = {
            "id": canvas_id,
            "title": args.get("title", ""),
            "markdown": (content or {}).get("markdown", ""),
            "channel_id": channel["id"] if channel else None,
        }
        if channel is not None:
            channel["canvas"] = canvas_id
        return {"canvas_id": canvas_id}


def bookmarks_add(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """Add a link bookmark to a channel."""
    if not args.get("channel_id"):
        raise SlackError("channel_not_found")
    channel = state.find_channel(str(args["channel_id"]), loose=False)
    if args["type"] != "link":
        raise SlackError("invalid_bookmark_type")
    link = str(args.get("link", ""))
    if not link.startswith(("http://", "https://")):
        raise SlackError("invalid_link")
    now = int(state.clock())
    with state.lock:
        bookmark = {
            "id": state.new_id("Bk"),
            "channel_id": channel["id"],
            "title": args["title"],
            "link": link,
            "emoji": args.get("emoji"),
            "icon_url": None,
            "type": "link",
            "entity_id": None,
            "date_created": now,
            "date_updated": 0,
            "rank": str(len(channel["bookmarks"])),
            "last_updated_by_user_id": state.bot_user_id,
            "last_updated_by_team_id": state.team_id,
            "shortcut_id": None,
            "app_id": None,
        }
        channel["bookmarks"].append(bookmark)
        return {"bookmark": bookmark}


HANDLERS: dict[str, Handler] = {
    "auth.test": auth_test,
    "apps.connections.open": apps_connections_open,
    "users.info": users_info,
    "users.lookupByEmail": users_lookup_by_email,
    "usergroups.users.list": usergroups_users_list,
    "views.open": views_open,
    "views.publish": views_publish,
    "files.getUploadURLExternal": files_get_upload_url_external,
    "files.completeUploadExternal": files_complete_upload_external,
    "files.upload": files_upload,
    "canvases.create": canvases_create,
    "bookmarks.add": bookmarks_add,
}
