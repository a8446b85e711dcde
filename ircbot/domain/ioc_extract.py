"""Indicators of compromise in what responders write: refanged, found, normalised, and written as STIX patterns.

`extract` reads free text (a note, a Slack message) and reports only what could be a real outside indicator:
public IP addresses, names under a real public suffix, URLs to such hosts, e-mail addresses at such domains, and
MD5 / SHA-1 / SHA-256 hashes. `parse_manual` takes one indicator a responder adds by hand, and accepts private
addresses and internal names too: the responder knows best. Nothing here touches the database or calls Slack.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache

from publicsuffixlist import PublicSuffixList

from ircbot.errors import InvalidInput

IOC_TYPES = ("ip", "domain", "url", "sha256", "sha1", "md5", "email", "file")
MAX_FILE_NAME = 255
MAX_URL = 2048
MAX_DOMAIN = 253

# Hash types by the length of their hexadecimal form.
_HASHES = {"md5": 32, "sha1": 40, "sha256": 64}
_HASH_BY_LENGTH = {length: kind for kind, length in _HASHES.items()}

# RFC 5737 and RFC 3849 documentation ranges, named outright: not every Python release counts them as non-global.
_DOCUMENTATION_NETS = tuple(
    ipaddress.ip_network(net) for net in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)
# RFC 2606 / RFC 6761 names that never point at a real party.
_DOCUMENTATION_DOMAINS = ("example.com", "example.net", "example.org")
_SPECIAL_USE_TLDS = ("example", "test", "invalid", "localhost")

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_TLD = r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = rf"(?:{_LABEL}\.)+{_TLD}"
# A name ends where no further label could follow. In text, a name right after a path separator is a file.
_HOST_END = r"(?![\w-]|\.[a-z0-9])"
_DOMAIN_SHAPE = re.compile(rf"{_HOST}", re.IGNORECASE)
_DOMAIN_IN_TEXT = re.compile(rf"(?<![\w.\-/\\]){_HOST}{_HOST_END}", re.IGNORECASE)
_LOCAL_PART = r"[a-z0-9_%+-]+(?:\.[a-z0-9_%+-]+)*"
_EMAIL_SHAPE = re.compile(rf"(?P<local>{_LOCAL_PART})@(?P<host>{_HOST})", re.IGNORECASE)
_EMAIL_IN_TEXT = re.compile(rf"(?<![\w.+%-])(?P<local>{_LOCAL_PART})@(?P<host>{_HOST}){_HOST_END}", re.IGNORECASE)
_URL_IN_TEXT = re.compile(r"(?<![\w+.-])(?:https?|ftp)://[^\s<>\"'`\\|{}^]+", re.IGNORECASE)
_URL_SHAPE = re.compile(r"(?P<scheme>https?|ftp)://(?P<netloc>[^/?#]*)(?P<rest>.*)", re.IGNORECASE | re.DOTALL)
_IPV4_IN_TEXT = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\w|\.\w)")
# Ends in a group, in `::`, or in an IPv4 tail; a colon after it that leads nowhere ends a sentence ("at fe80::1: …").
_IPV6_IN_TEXT = re.compile(
    r"(?<![\w:.])(?:[0-9a-f]{0,4}:){1,7}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f]{1,4}|(?<=:):)(?!\w|:[\w:])", re.IGNORECASE
)
_HEX_RUN = re.compile(r"(?<![0-9a-z])[0-9a-f]+(?![0-9a-z])", re.IGNORECASE)
_HEX = re.compile(r"[0-9a-f]+", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Defanged separators: `[.]`, `(.)`, `{.}`, `[dot]`, `[:]`, `[://]`, `[@]`, `(at)`, … Only between two non-blank
# characters, and only before a character that can continue an indicator, so prose like "the period (dot) key" or
# a Python slice `a[:]` is left alone.
_FANGS = {".": ".", "dot": ".", ":": ":", "://": "://", "@": "@", "at": "@"}
_INNER = "|".join(re.escape(fang) for fang in sorted(_FANGS, key=len, reverse=True))
_BRACKETED = re.compile(
    rf"(?<=\S)(?:\[(?P<square>{_INNER})\]|\((?P<round>{_INNER})\)|\{{(?P<curly>{_INNER})\}})(?=[\w\[({{/])",
    re.IGNORECASE,
)
_FANGED_SCHEME = re.compile(r"\b(?:hxxps?|fxp)(?=://)", re.IGNORECASE)
_SCHEMES = {"hxxp": "http", "hxxps": "https", "fxp": "ftp"}

# Slack's markup: `<https://x.y/z>`, `<https://x.y/z|label>`, `<mailto:a@b.c|a@b.c>`, `<@U123>`, `<#C1|name>`.
_SLACK_MARKUP = re.compile(r"<(?P<target>[^<>|\n]*)(?:\|(?P<label>[^<>\n]*))?>")
_LINK_SCHEME = re.compile(r"^(?:https?://|ftp://|mailto:)", re.IGNORECASE)
_ESCAPES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))


@dataclass(frozen=True)
class Indicator:
    """One indicator of compromise: `type` is one of IOC_TYPES, `value` its normalised form."""

    type: str
    value: str

    def __post_init__(self) -> None:
        if self.type not in IOC_TYPES:
            raise ValueError(f"unknown indicator type {self.type!r}; types: {', '.join(IOC_TYPES)}")


@cache
def _suffix_list() -> PublicSuffixList:
    """The ICANN public suffixes, read once on first use (parsing the list is not free)."""
    return PublicSuffixList(accept_unknown=False, only_icann=True)


def refang(text: str) -> str:
    """Undo the defanged forms responders write (`hxxps://`, `evil[.]com`, `bob[@]evil.com`, …), nothing else."""
    return _FANGED_SCHEME.sub(lambda scheme: _SCHEMES[scheme.group().lower()], _BRACKETED.sub(_separator, text))


def _separator(match: re.Match[str]) -> str:
    fang = match.group("square") or match.group("round") or match.group("curly")
    return _FANGS[fang.lower()]


def _unwrap_slack(text: str) -> str:
    """Slack's `<…>` markup as the plain text a person typed.

    Each link becomes its target, its label dropped; a mention (`<@U123>`, `<#C123|name>`, `<!here>`) becomes its id,
    in which no indicator can be found.
    """

    def plain(match: re.Match[str]) -> str:
        target, label = match.group("target"), match.group("label")
        # Slack links a bare `evil.com` as `<http://evil.com|evil.com>`: what was typed is the label.
        if label is not None and _LINK_SCHEME.sub("", target) == label:
            return f" {label} "
        return f" {target} "

    text = _SLACK_MARKUP.sub(plain, text)
    for escaped, char in _ESCAPES:
        text = text.replace(escaped, char)
    return text


def _is_public_ip(address: _Address) -> bool:
    """Routable on the internet: not private, shared (CGNAT), loopback, link-local, multicast, reserved or docs."""
    # is_global already leaves out private, shared, loopback, link-local and unspecified addresses, but lets
    # multicast and unallocated IPv6 space through.
    if not address.is_global or address.is_multicast or address.is_reserved:
        return False
    return not any(address in net for net in _DOCUMENTATION_NETS if net.version == address.version)


def _domain_name(name: str) -> str | None:
    """`name` lower-cased if it is a syntactically valid host name of two or more labels."""
    return name.lower() if len(name) <= MAX_DOMAIN and _DOMAIN_SHAPE.fullmatch(name) else None


def _is_registrable(name: str) -> bool:
    """Under a real (ICANN) public suffix, with a label of its own beyond it: `evil.co.uk`, not `co.uk` or `a.txt`."""
    return _suffix_list().privatesuffix(name) is not None


def _is_documentation_domain(name: str) -> bool:
    """An RFC 2606 / RFC 6761 name: `example.com` and its subdomains, or anything under `.test`, `.example`, …"""
    return name.rsplit(".", 1)[-1] in _SPECIAL_USE_TLDS or any(
        name == doc or name.endswith(f".{doc}") for doc in _DOCUMENTATION_DOMAINS
    )


def _is_reportable(host: _Address | str) -> bool:
    """What `extract` reports: a public address, or a registrable name not kept for documentation."""
    if isinstance(host, str):
        return _is_registrable(host) and not _is_documentation_domain(host)
    return _is_public_ip(host)


def _ip(value: str) -> _Address | None:
    """The address `value` spells, an IPv4-mapped IPv6 one (`::ffff:198.51.100.7`) as the IPv4 it carries."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    return address.ipv4_mapped or address if isinstance(address, ipaddress.IPv6Address) else address


def _url_parts(url: str) -> tuple[str, _Address | str] | None:
    """(normalised URL, its host as an address or a lower-cased name), or None if it is not a URL."""
    shape = _URL_SHAPE.fullmatch(url)
    if shape is None:
        return None
    userinfo, _, hostport = shape.group("netloc").rpartition("@")
    host: _Address | str | None
    if hostport.startswith("["):
        inside, _, port = hostport[1:].partition("]")
        host = _ip(inside) if ":" in inside and (port == "" or port.startswith(":")) else None
        written = f"[{host}]"
        port = port.removeprefix(":")
    else:
        name, _, port = hostport.partition(":")
        host = _ip(name)
        if host is None:
            host = _domain_name(name)
        written = str(host)
    if host is None or (port and not (port.isdigit() and int(port) <= 65535)):
        return None
    netloc = (f"{userinfo}@" if userinfo else "") + written + (f":{port}" if port else "")
    return f"{shape.group('scheme').lower()}://{netloc}{shape.group('rest')}", host


def _trim_url(url: str) -> str:
    """Drop what ends a sentence rather than the URL: `.` `,` `;` …, and closing brackets it never opened."""
    while url:
        last = url[-1]
        opener = {")": "(", "]": "[", "}": "{"}.get(last)
        if last in ".,;:!?*" or (opener and url.count(last) > url.count(opener)):
            url = url[:-1]
        else:
            break
    return url


# Each finder yields (start, end, indicator) for every span it recognises; None means "recognised, but private or
# documentation": the span is still taken, so no later finder reports a piece of it.
_Found = Iterator[tuple[int, int, Indicator | None]]


def _find_urls(text: str) -> _Found:
    for match in _URL_IN_TEXT.finditer(text):
        url = _trim_url(match.group())
        parts = _url_parts(url)
        found = Indicator("url", parts[0]) if parts and _is_reportable(parts[1]) else None
        yield match.start(), match.start() + len(url), found


def _find_emails(text: str) -> _Found:
    for match in _EMAIL_IN_TEXT.finditer(text):
        host = match.group("host").lower()
        if _is_registrable(host):
            found = None if _is_documentation_domain(host) else Indicator("email", f"{match.group('local')}@{host}")
            yield match.start(), match.end(), found


def _find_ips(pattern: re.Pattern[str]) -> Callable[[str], _Found]:
    def find(text: str) -> _Found:
        for match in pattern.finditer(text):
            address = _ip(match.group())
            if address is not None:
                yield match.start(), match.end(), Indicator("ip", str(address)) if _is_public_ip(address) else None

    return find


def _find_domains(text: str) -> _Found:
    for match in _DOMAIN_IN_TEXT.finditer(text):
        name = match.group().lower()
        if len(name) <= MAX_DOMAIN and _is_registrable(name):
            yield match.start(), match.end(), None if _is_documentation_domain(name) else Indicator("domain", name)


def _find_hashes(text: str) -> _Found:
    for match in _HEX_RUN.finditer(text):
        kind = _HASH_BY_LENGTH.get(len(match.group()))
        if kind is not None:
            yield match.start(), match.end(), Indicator(kind, match.group().lower())


# Wholes before parts: a URL before its host, an e-mail before its domain; a name before the hex label inside it.
_FINDERS: tuple[Callable[[str], _Found], ...] = (
    _find_urls,
    _find_emails,
    _find_ips(_IPV6_IN_TEXT),
    _find_ips(_IPV4_IN_TEXT),
    _find_domains,
    _find_hashes,
)


def extract(text: str) -> list[Indicator]:
    """The outside indicators in free text, normalised, each once, in order of first appearance.

    The text is unwrapped from Slack's `<…>` markup and refanged first. A URL is reported whole, never also its
    host (or anything else inside it); an e-mail address likewise, never also its domain. Private, shared, loopback,
    link-local, multicast, reserved and documentation addresses, documentation names (`example.com`, `*.test`, …)
    and URLs or e-mails on them are left out, as are names not under a real public suffix (`notes.txt`). Real
    suffixes that look like file extensions (`.zip`, `.mov`, `.sh`) do count. Hex runs count as hashes only at
    exactly 32, 40 or 64 characters. File names are never found here; `parse_manual` takes them.
    """
    plain = refang(_unwrap_slack(text))
    taken = bytearray(len(plain))
    found: list[tuple[int, Indicator]] = []
    for finder in _FINDERS:
        for start, end, indicator in finder(plain):
            if any(taken[start:end]):
                continue
            taken[start:end] = b"\x01" * (end - start)
            if indicator is not None:
                found.append((start, indicator))
    return list(dict.fromkeys(indicator for _, indicator in sorted(found, key=lambda item: item[0])))


_STIX_PATHS = {
    "domain": "domain-name:value",
    "url": "url:value",
    "email": "email-addr:value",
    "sha256": "file:hashes.'SHA-256'",
    "sha1": "file:hashes.'SHA-1'",
    "md5": "file:hashes.MD5",
    "file": "file:name",
}


def stix_pattern(indicator: Indicator) -> str:
    """The STIX 2.1 pattern matching the indicator, e.g. `[ipv4-addr:value = '198.51.100.7']`."""
    if indicator.type == "ip":
        path = "ipv6-addr:value" if ":" in indicator.value else "ipv4-addr:value"
    else:
        path = _STIX_PATHS[indicator.type]
    escaped = indicator.value.replace("\\", "\\\\").replace("'", "\\'")
    return f"[{path} = '{escaped}']"


def _shown(value: str) -> str:
    """The value quoted for a message, cut short if long."""
    return f"`{value}`" if len(value) <= 60 else f"`{value[:57]}…`"


def _manual_ip(value: str) -> str | None:
    address = _ip(value.removeprefix("[").removesuffix("]"))
    return None if address is None else str(address)


def _manual_url(value: str) -> str | None:
    parts = _url_parts(value) if len(value) <= MAX_URL and not any(c.isspace() for c in value) else None
    return None if parts is None else parts[0]


def _manual_email(value: str) -> str | None:
    shape = _EMAIL_SHAPE.fullmatch(value)
    host = _domain_name(shape.group("host")) if shape else None
    return f"{shape.group('local')}@{host}" if shape and host else None


def _manual_hash(kind: str) -> Callable[[str], str | None]:
    return lambda value: value.lower() if _HEX.fullmatch(value) and len(value) == _HASHES[kind] else None


def _manual_file(value: str) -> str | None:
    return value if len(value) <= MAX_FILE_NAME and not _CONTROL.search(value) else None


# Per type: its normal form (None if the value is not one) and what the type is, for the message when it is not.
_MANUAL: dict[str, tuple[Callable[[str], str | None], str]] = {
    "ip": (_manual_ip, "an IP address: give IPv4 like `203.0.113.7` or IPv6 like `2001:db8::7`"),
    "domain": (
        lambda value: _domain_name(value.removesuffix(".")),
        "a domain name: give a host name such as `login.evil.example`, without scheme, port or path",
    ),
    "url": (
        _manual_url,
        "a URL: give it whole, with an http, https or ftp scheme and a host, e.g. `https://login.evil.example/reset`,"
        f" in at most {MAX_URL} characters",
    ),
    "sha256": (_manual_hash("sha256"), "a sha256 hash: a SHA-256 is 64 hexadecimal characters"),
    "sha1": (_manual_hash("sha1"), "a sha1 hash: a SHA-1 is 40 hexadecimal characters"),
    "md5": (_manual_hash("md5"), "an md5 hash: an MD5 is 32 hexadecimal characters"),
    "email": (_manual_email, "an e-mail address: give one such as `billing@evil.example`"),
    "file": (_manual_file, f"a file name: give one line of at most {MAX_FILE_NAME} characters, e.g. `invoice.pdf.exe`"),
}


def _inferred_type(value: str) -> str:
    """The one type whose shape `value` has; file names and internal names need `--type`, being ambiguous."""
    if _HEX.fullmatch(value) and len(value) in _HASH_BY_LENGTH:
        return _HASH_BY_LENGTH[len(value)]
    if _ip(value.removeprefix("[").removesuffix("]")) is not None:
        return "ip"
    if "://" in value:
        return "url"
    if "@" in value:
        return "email"
    name = _domain_name(value.removesuffix("."))
    if name is not None and (_is_registrable(name) or _is_documentation_domain(name)):
        return "domain"
    if _HEX.fullmatch(value) and len(value) >= 16:
        raise InvalidInput(
            f"{_shown(value)} looks like a hash but has {len(value)} hexadecimal characters: "
            "an MD5 has 32, a SHA-1 40 and a SHA-256 64."
        )
    raise InvalidInput(
        f"Cannot tell what kind of indicator {_shown(value)} is: it is not under a real domain suffix. "
        "Say which with `--type`: `--type file` for a file name, `--type domain` for an internal name "
        f"(types: {', '.join(IOC_TYPES)})."
    )


def parse_manual(value: str, type: str | None = None) -> Indicator:
    """One indicator added by hand: refanged, its type inferred when not given, validated and normalised.

    Unlike `extract`, private and documentation addresses and internal names are accepted: the responder knows best.
    """
    wanted = type.strip().lower() if type is not None else None
    if wanted is not None and wanted not in IOC_TYPES:
        raise InvalidInput(f"There is no indicator type {_shown(wanted)}. Types: {', '.join(IOC_TYPES)}.")
    plain = refang(_unwrap_slack(value)).strip()
    if not plain:
        raise InvalidInput("Give the indicator to add, e.g. `203.0.113.7`, `evil.example` or a SHA-256 hash.")
    kind = wanted or _inferred_type(plain)
    normalise, meaning = _MANUAL[kind]
    normal = normalise(plain)
    if normal is None and kind in _HASHES:
        other = "" if _HEX.fullmatch(plain) else ", not all of them 0-9 or a-f"
        raise InvalidInput(f"{_shown(plain)} is not {meaning} (got {len(plain)}{other}).")
    if normal is None:
        raise InvalidInput(f"{_shown(plain)} is not {meaning}.")
    return Indicator(kind, normal)
