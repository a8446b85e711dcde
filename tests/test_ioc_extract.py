"""Indicators of compromise: refanged, found in free text, added by hand, and written as STIX 2.1 patterns."""

from __future__ import annotations

import ipaddress
import re
import string
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from stix2patterns.validator import validate

from ircbot.domain.ioc_extract import IOC_TYPES, Indicator, extract, parse_manual, refang, stix_pattern
from ircbot.errors import InvalidInput

ROOT = Path(__file__).resolve().parents[1]
MD5 = "d41d8cd98f00b204e9800998ecf8427e"
SHA1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def defang(value: str, *, dot: str = "[.]", at: str = "[@]", separator: str = "[://]") -> str:
    """How a responder makes an indicator unclickable: `hxxp`, `fxp`, `[://]`, `[.]`, `[@]`."""
    value = re.sub(r"^http", "hxxp", re.sub(r"^ftp", "fxp", value))
    return value.replace("://", separator).replace(".", dot).replace("@", at)


def found(text: str) -> list[tuple[str, str]]:
    return [(indicator.type, indicator.value) for indicator in extract(text)]


# --- refang -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("defanged", "plain"),
    [
        ("hxxp://evil.com/a", "http://evil.com/a"),
        ("hxxps://evil.com/a", "https://evil.com/a"),
        ("HXXPS://evil.com/a", "https://evil.com/a"),
        ("hXXp://evil.com/a", "http://evil.com/a"),
        ("fxp://files.evil.com/a", "ftp://files.evil.com/a"),
        ("evil[.]com", "evil.com"),
        ("evil(.)com", "evil.com"),
        ("evil{.}com", "evil.com"),
        ("evil[dot]com", "evil.com"),
        ("evil(DOT)com", "evil.com"),
        ("hxxps[:]//evil.com", "https://evil.com"),
        ("hxxps[://]evil.com", "https://evil.com"),
        ("bob[@]evil.com", "bob@evil.com"),
        ("bob(@)evil.com", "bob@evil.com"),
        ("bob[at]evil.com", "bob@evil.com"),
        ("203[.]0[.]113[.]7", "203.0.113.7"),
        ("2a00[:]1450[:][:]1", "2a00:1450::1"),
        ("see hxxp://evil[.]co[.]uk/x today", "see http://evil.co.uk/x today"),
    ],
)
def test_refang_undoes_each_defanged_form(defanged: str, plain: str) -> None:
    assert refang(defanged) == plain


@pytest.mark.parametrize(
    "prose",
    [
        "Press the period (dot) key twice.",
        "Meet me (at) noon [at] the desk.",
        "Meet me (at)noon or (dot)later.",
        "Copy the list with a[:] then sort it.",
        "Options: [.] or (.) or {.}",
        "http://already.fine/and/plain",
        "hxxp without a scheme separator",
    ],
)
def test_refang_leaves_ordinary_prose_alone(prose: str) -> None:
    assert refang(prose) == prose


FANG_PIECES = st.sampled_from(["[", "]", "(", ")", "{", "}", ".", ":", "/", "@", "dot", "at", "hxxp", "s", "x", " "])


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(), st.lists(FANG_PIECES, max_size=30).map("".join)))
def test_refang_is_idempotent(text: str) -> None:
    once = refang(text)
    assert refang(once) == once


# --- extract: each type -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Beacon to 8.8.8.8 every minute.", [("ip", "8.8.8.8")]),
        ("Beacon to 2A00:1450:4001:081C:0:0:0:200E now", [("ip", "2a00:1450:4001:81c::200e")]),
        ("dual-stack log: ::ffff:8.8.4.4 connected", [("ip", "8.8.4.4")]),
        ("Lookups of Login.EVIL.co.uk spiked", [("domain", "login.evil.co.uk")]),
        ("Payload at HTTPS://Evil.COM/Path?Q=1#Top", [("url", "https://evil.com/Path?Q=1#Top")]),
        ("Mirror ftp://files.evil.ru/x.bin", [("url", "ftp://files.evil.ru/x.bin")]),
        ("Callback http://[2a00:1450::1]:8443/c2", [("url", "http://[2a00:1450::1]:8443/c2")]),
        ("Phish from Billing@Evil.COM", [("email", "Billing@evil.com")]),
        (f"Dropper {MD5.upper()}", [("md5", MD5)]),
        (f"Dropper sha1={SHA1}", [("sha1", SHA1)]),
        (f"Dropper sha256:{SHA256}", [("sha256", SHA256)]),
        (f"payload_{MD5}.exe", [("md5", MD5)]),
        ("Fake installer at archive.zip and clip.mov", [("domain", "archive.zip"), ("domain", "clip.mov")]),
    ],
)
def test_extract_finds_each_type_normalised(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "hxxps://evil[.]com/login",
        "hxxps[://]evil[.]com/login",
        "hxxps[:]//evil(.)com/login",
        "HXXPS://evil{.}com/login",
    ],
)
def test_extract_finds_defanged_urls(text: str) -> None:
    assert found(text) == [("url", "https://evil.com/login")]


def test_extract_finds_each_defanged_form_of_the_other_types() -> None:
    text = "8[.]8[.]4[.]4, evil[dot]com, bob[@]bad(.)org, alice(@)bad[.]net, 2a00[:]1450[:][:]1"
    assert found(text) == [
        ("ip", "8.8.4.4"),
        ("domain", "evil.com"),
        ("email", "bob@bad.org"),
        ("email", "alice@bad.net"),
        ("ip", "2a00:1450::1"),
    ]


def test_a_url_is_reported_without_its_host_and_an_email_without_its_domain() -> None:
    assert found("Saw https://evil.com/x and mail from bob@bad.org") == [
        ("url", "https://evil.com/x"),
        ("email", "bob@bad.org"),
    ]


def test_nothing_inside_a_url_is_reported_separately() -> None:
    assert found(f"http://8.8.8.8/{SHA256}/evil.com") == [("url", f"http://8.8.8.8/{SHA256}/evil.com")]


def test_extract_deduplicates_in_order_of_first_appearance() -> None:
    text = f"evil.com 8.8.8.8 EVIL.com evil[.]com {MD5} 8.8.8.8 {MD5.upper()} 2a00::1 2A00:0::1"
    assert found(text) == [("domain", "evil.com"), ("ip", "8.8.8.8"), ("md5", MD5), ("ip", "2a00::1")]


def test_extract_of_text_without_indicators_is_empty() -> None:
    assert extract("") == []
    assert extract("We rotated the credentials at 14:30:00 and closed ticket 4512.") == []


# --- extract: Slack markup --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("See <https://evil.com/x>.", [("url", "https://evil.com/x")]),
        ("See <https://evil.com/x|the phishing page>", [("url", "https://evil.com/x")]),
        ("Blocked <http://evil.com|evil.com> at the proxy", [("domain", "evil.com")]),
        ("Blocked <http://Evil.com/a|Evil.com/a>", [("domain", "evil.com")]),
        ("From <mailto:bob@bad.org|bob@bad.org>", [("email", "bob@bad.org")]),
        ("Query <https://evil.com/?a=1&amp;b=2>", [("url", "https://evil.com/?a=1&b=2")]),
        ("<@U0123ABCD> and <#C0123ABCD|incident-42> <!here> <!subteam^S0123|@oncall> <@U0123ABCD|ana.ro>", []),
        ("<@U0123ABCD> saw 8.8.8.8 in <#C0123ABCD>", [("ip", "8.8.8.8")]),
    ],
)
def test_extract_reads_slack_markup(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


# --- extract: what ends a sentence ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Blocked evil.com.", ("domain", "evil.com")),
        ("Blocked (evil.com), then", ("domain", "evil.com")),
        ("Payload: https://evil.com/a.", ("url", "https://evil.com/a")),
        ("(see https://evil.com/a), then", ("url", "https://evil.com/a")),
        ("at https://evil.com/a; then", ("url", "https://evil.com/a")),
        ("Really https://evil.com/a?x=1!", ("url", "https://evil.com/a?x=1")),
        ("(https://en.wikipedia.org/wiki/Foo_(bar)).", ("url", "https://en.wikipedia.org/wiki/Foo_(bar)")),
        ("From 8.8.8.8.", ("ip", "8.8.8.8")),
        ("From 8.8.8.8:443, then", ("ip", "8.8.8.8")),
        ("From 2a00::1: then", ("ip", "2a00::1")),
        ("Mail bob@bad.org.", ("email", "bob@bad.org")),
        (f"Hash {SHA1}.", ("sha1", SHA1)),
    ],
)
def test_trailing_punctuation_is_not_part_of_the_indicator(text: str, expected: tuple[str, str]) -> None:
    assert found(text) == [expected]


# --- extract: what is not an outside indicator ------------------------------------------------------------------------

NOT_PUBLIC = [
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "127.0.0.1",
    "169.254.1.1",
    "100.64.0.1",
    "224.0.0.251",
    "0.0.0.0",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.2.10",
    "198.51.100.10",
    "203.0.113.10",
    "::1",
    "fe80::1",
    "fc00::1",
    "ff02::1",
    "2001:db8::1",
    "::ffff:10.0.0.1",
    "4000::1",
]
DOCUMENTATION_NAMES = [
    "example.com",
    "www.example.net",
    "mail.example.org",
    "host.example",
    "evil.test",
    "x.invalid",
    "app.localhost",
]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_private_and_documentation_addresses_are_skipped_by_extract(address: str) -> None:
    assert extract(f"seen {address} and http://{address}/payload.exe today") == []


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_private_and_documentation_addresses_are_accepted_by_hand(address: str) -> None:
    expected = ipaddress.ip_address(address)
    if isinstance(expected, ipaddress.IPv6Address) and expected.ipv4_mapped:
        expected = expected.ipv4_mapped
    assert parse_manual(address) == Indicator("ip", str(expected))


@pytest.mark.parametrize("name", DOCUMENTATION_NAMES)
def test_documentation_names_are_skipped_by_extract(name: str) -> None:
    assert extract(f"see {name}, https://{name}/login and bob@{name}") == []


@pytest.mark.parametrize("name", DOCUMENTATION_NAMES)
def test_documentation_names_are_accepted_by_hand(name: str) -> None:
    assert parse_manual(name) == Indicator("domain", name)
    assert parse_manual(f"bob@{name}") == Indicator("email", f"bob@{name}")


@pytest.mark.parametrize(
    "text",
    [
        "Attached report.pdf and notes.txt",
        "see invoice.docx, dump.pcap and config.json",
        r"dropped C:\Users\bob\run.sh and /tmp/stage.sh",
        "co.uk and com.au alone are suffixes, not domains",
        "foo.notatld and intranet.corp.local",
        "versions 1.2.3.4.5 and 01.2.3.4 and 999.1.1.1",
        "bücher.de is not taken in part",
        f"{'a' * 63}.{'b' * 63}.{'c' * 63}.{'d' * 63}.com is longer than DNS allows",
    ],
)
def test_names_without_a_registrable_real_suffix_are_not_domains(text: str) -> None:
    assert extract(text) == []


@pytest.mark.parametrize("length", [31, 33, 39, 41, 63, 65, 96, 128])
def test_hex_runs_of_other_lengths_are_not_hashes(length: int) -> None:
    assert extract(f"token {'ab' * (length // 2)}{'c' * (length % 2)} seen") == []


def test_a_hex_run_inside_a_longer_word_is_not_a_hash() -> None:
    assert extract(f"id g{MD5} and {SHA1}z") == []


# --- extract: properties ----------------------------------------------------------------------------------------------

WORDS = st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=8)
PROSE = st.lists(WORDS, max_size=6).map(" ".join)
DOTS = st.sampled_from(["[.]", "(.)", "{.}", "[dot]", "."])
LABELS = st.lists(st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True), min_size=1, max_size=3)
SUFFIXES = st.sampled_from(["com", "net", "org", "co.uk", "com.au", "de", "io", "zip"])
DOMAINS = st.builds(lambda labels, suffix: ".".join([*labels, suffix]), LABELS, SUFFIXES).filter(
    lambda name: not re.search(r"(^|\.)example\.(com|net|org)$", name)
)


@st.composite
def public_ips(draw: st.DrawFn) -> tuple[str, Indicator]:
    if draw(st.booleans()):
        v4 = draw(st.ip_addresses(v=4).filter(lambda a: a.is_global and not a.is_multicast and not a.is_reserved))
        return defang(str(v4), dot=draw(DOTS)), Indicator("ip", str(v4))
    v6 = draw(st.ip_addresses(network=draw(st.sampled_from(["2a00::/12", "2600::/12"]))))
    written = draw(st.sampled_from([str(v6), v6.exploded.upper(), re.sub(r":(?=[0-9a-f])", "[:]", str(v6))]))
    return written, Indicator("ip", str(v6))


@st.composite
def domains(draw: st.DrawFn) -> tuple[str, Indicator]:
    name = draw(DOMAINS)
    written = name.upper() if draw(st.booleans()) else name
    return defang(written, dot=draw(DOTS)), Indicator("domain", name)


@st.composite
def urls(draw: st.DrawFn) -> tuple[str, Indicator]:
    host = draw(DOMAINS)
    path = draw(st.from_regex(r"(/[A-Za-z0-9_-]{1,8}){0,3}(\?[a-z]=[0-9])?", fullmatch=True))
    url = f"{draw(st.sampled_from(['http', 'https', 'ftp']))}://{host}{path}"
    separator = draw(st.sampled_from(["[://]", "[:]//", "://"]))
    return defang(url, dot=draw(DOTS), separator=separator), Indicator("url", url)


@st.composite
def emails(draw: st.DrawFn) -> tuple[str, Indicator]:
    address = f"{draw(st.from_regex(r'[a-z0-9]{1,8}([._+-][a-z0-9]{1,8})?', fullmatch=True))}@{draw(DOMAINS)}"
    at = draw(st.sampled_from(["[@]", "(@)", "[at]", "@"]))
    return defang(address, dot=draw(DOTS), at=at), Indicator("email", address)


@st.composite
def hashes(draw: st.DrawFn) -> tuple[str, Indicator]:
    kind, size = draw(st.sampled_from([("md5", 16), ("sha1", 20), ("sha256", 32)]))
    digest = draw(st.binary(min_size=size, max_size=size)).hex()
    return (digest.upper() if draw(st.booleans()) else digest), Indicator(kind, digest)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(public_ips(), domains(), urls(), emails(), hashes()),
    PROSE,
    PROSE,
    st.sampled_from(["", "("]),
    st.sampled_from(["", ".", ",", ")", ";", ":", "!", "?"]),
)
def test_a_defanged_indicator_in_prose_is_found_alone_and_normalised(
    written_and_expected: tuple[str, Indicator], before: str, after: str, opener: str, closer: str
) -> None:
    written, expected = written_and_expected
    assume(not (written.endswith("::") and closer == ":"))  # `2a00:::` could end either way
    assert extract(f"{before} {opener}{written}{closer} {after}") == [expected]


WORD_PIECES = ["evil", "com", "co.uk", "hxxp", "https", "2a00", "ff", "8.8", "1", "x", "@U1", "#C1", "!here", MD5]
MARK_PIECES = [*" .:@<>|()/?-_%", "[.]", "(dot)", "://", "[://]", "[@]", "::"]
TEXT_PIECES = st.sampled_from([*WORD_PIECES, *MARK_PIECES])


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(), st.lists(TEXT_PIECES, max_size=25).map("".join)))
def test_extract_never_raises_and_finds_only_what_parse_manual_accepts(text: str) -> None:
    for indicator in extract(text):
        assert indicator.type in IOC_TYPES
        assert parse_manual(indicator.value, indicator.type) == indicator


# --- STIX patterns ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("indicator", "pattern"),
    [
        (Indicator("ip", "8.8.8.8"), "[ipv4-addr:value = '8.8.8.8']"),
        (Indicator("ip", "2a00:1450::1"), "[ipv6-addr:value = '2a00:1450::1']"),
        (Indicator("domain", "evil.com"), "[domain-name:value = 'evil.com']"),
        (Indicator("url", "https://evil.com/a?b=1"), "[url:value = 'https://evil.com/a?b=1']"),
        (Indicator("email", "bob@bad.org"), "[email-addr:value = 'bob@bad.org']"),
        (Indicator("sha256", SHA256), f"[file:hashes.'SHA-256' = '{SHA256}']"),
        (Indicator("sha1", SHA1), f"[file:hashes.'SHA-1' = '{SHA1}']"),
        (Indicator("md5", MD5), f"[file:hashes.MD5 = '{MD5}']"),
        (Indicator("file", "invoice.pdf.exe"), "[file:name = 'invoice.pdf.exe']"),
        (Indicator("file", "it's C:\\x.exe"), "[file:name = 'it\\'s C:\\\\x.exe']"),
        (Indicator("url", "https://evil.com/it's"), "[url:value = 'https://evil.com/it\\'s']"),
    ],
)
def test_stix_pattern_of_each_type_is_valid_stix_21(indicator: Indicator, pattern: str) -> None:
    assert stix_pattern(indicator) == pattern
    assert validate(pattern, stix_version="2.1", ret_errs=True) == (True, [])


def test_an_indicator_of_an_unknown_type_is_refused() -> None:
    with pytest.raises(ValueError, match="hostname"):
        Indicator("hostname", "evil.com")


def test_ioc_types_list_every_type_in_order() -> None:
    assert IOC_TYPES == ("ip", "domain", "url", "sha256", "sha1", "md5", "email", "file")


# --- parse_manual -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("8.8.8.8", Indicator("ip", "8.8.8.8")),
        ("[2A00:1450::0001]", Indicator("ip", "2a00:1450::1")),
        ("Evil.COM", Indicator("domain", "evil.com")),
        ("evil[.]com.", Indicator("domain", "evil.com")),
        ("hxxps://Evil[.]com/Login", Indicator("url", "https://evil.com/Login")),
        ("http://10.0.0.5:8080/payload", Indicator("url", "http://10.0.0.5:8080/payload")),
        ("bob[@]bad[.]org", Indicator("email", "bob@bad.org")),
        (f"  {SHA256.upper()}  ", Indicator("sha256", SHA256)),
        (SHA1, Indicator("sha1", SHA1)),
        (MD5, Indicator("md5", MD5)),
        ("<http://evil.com|evil.com>", Indicator("domain", "evil.com")),
    ],
)
def test_parse_manual_infers_the_type(value: str, expected: Indicator) -> None:
    assert parse_manual(value) == expected


@pytest.mark.parametrize(
    ("value", "type_", "expected"),
    [
        ("fs01.corp.local", "domain", Indicator("domain", "fs01.corp.local")),
        ("notes.txt", "file", Indicator("file", "notes.txt")),
        ("evil.sh", "file", Indicator("file", "evil.sh")),
        ("C:\\Users\\bob\\invoice.pdf.exe", "file", Indicator("file", "C:\\Users\\bob\\invoice.pdf.exe")),
        (MD5.upper(), " MD5 ", Indicator("md5", MD5)),
        ("x" * 255, "file", Indicator("file", "x" * 255)),
    ],
)
def test_parse_manual_takes_the_given_type(value: str, type_: str, expected: Indicator) -> None:
    assert parse_manual(value, type_) == expected


@pytest.mark.parametrize(
    ("value", "type_", "message"),
    [
        ("abc", "sha256", "`abc` is not a sha256 hash: a SHA-256 is 64 hexadecimal characters (got 3)."),
        (MD5, "sha1", f"`{MD5}` is not a sha1 hash: a SHA-1 is 40 hexadecimal characters (got 32)."),
        ("xyz", "md5", "`xyz` is not an md5 hash: an MD5 is 32 hexadecimal characters (got 3, not all of them"),
        ("evil.com", "ip", "`evil.com` is not an IP address: give IPv4 like `203.0.113.7`"),
        ("999.1.1.1", "ip", "`999.1.1.1` is not an IP address"),
        ("https://evil.com/x", "domain", "is not a domain name: give a host name such as"),
        ("evil.com/login", "url", "`evil.com/login` is not a URL: give it whole, with an http, https or ftp scheme"),
        ("gopher://evil.com/", "url", "is not a URL"),
        ("http://evil.com:99999/", "url", "is not a URL"),
        ("bob@", "email", "`bob@` is not an e-mail address: give one such as `billing@evil.example`."),
        ("bob@bad.org/x", "email", "is not an e-mail address"),
        ("a\nb.exe", "file", "is not a file name: give one line of at most 255 characters"),
        ("x" * 256, "file", "is not a file name"),
    ],
)
def test_parse_manual_explains_a_value_that_is_not_of_its_type(value: str, type_: str, message: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_manual(value, type_)
    assert message in raised.value.message


@pytest.mark.parametrize(
    ("value", "type_", "message"),
    [
        ("", None, "Give the indicator to add"),
        ("   ", "file", "Give the indicator to add"),
        ("evil.com", "hostname", "There is no indicator type `hostname`. Types: ip, domain, url, sha256, sha1, md5"),
        ("notes.txt", None, "Cannot tell what kind of indicator `notes.txt` is"),
        ("fs01.corp.local", None, "Say which with `--type`: `--type file` for a file name, `--type domain`"),
        (MD5[:30], None, f"`{MD5[:30]}` looks like a hash but has 30 hexadecimal characters"),
    ],
)
def test_parse_manual_explains_what_it_cannot_take(value: str, type_: str | None, message: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_manual(value, type_)
    assert message in raised.value.message


def test_a_hash_of_the_wrong_length_is_named_with_its_length() -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_manual("abc", "sha256")
    assert raised.value.message == "`abc` is not a sha256 hash: a SHA-256 is 64 hexadecimal characters (got 3)."


def test_a_long_value_is_cut_short_in_the_message() -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_manual("y" * 300, "md5")
    assert "y" * 58 not in raised.value.message
    assert "(got 300" in raised.value.message


# --- the public suffix list is read on first use, once ----------------------------------------------------------------

PROBE = """
import gc
from publicsuffixlist import PublicSuffixList
import ircbot.domain.ioc_extract as ioc
def built():
    return sum(isinstance(o, PublicSuffixList) for o in gc.get_objects())
at_import = built()
ioc.extract("evil.com"), ioc.extract("bad.org"), ioc.parse_manual("evil.net")
print(at_import, built())
"""


def test_the_public_suffix_list_is_built_on_first_use_and_only_once() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "1"]
