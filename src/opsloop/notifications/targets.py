"""Which targets notifications may be sent to: URL checks and the SSRF guard.

A target's host is resolved when the channel is saved and again before every delivery (DNS can
change in between). Link-local and cloud-metadata addresses are always refused; loopback and
private ranges only when ``OPSLOOP_NOTIFICATIONS_ALLOW_PRIVATE_TARGETS`` allows them.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from urllib.parse import parse_qs, urlsplit

from opsloop.core.errors import ValidationFailed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], list[str]]

METADATA_HOSTS = frozenset(
    {"metadata.google.internal", "metadata.goog", "metadata", "instance-data", "metadata.azure"}
)
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)
_ALWAYS_REFUSED = (
    ipaddress.ip_network("169.254.0.0/16"),
    ipaddress.ip_network("fe80::/10"),
    ipaddress.ip_network("0.0.0.0/8"),
)
#: Apprise services whose URL names a host of the user's own (self-hosted servers, SMTP);
#: the others name a cloud service and carry tokens where a host would be.
SELF_HOSTED_SCHEMES = frozenset(
    {
        "mailto",
        "mailtos",
        "json",
        "jsons",
        "xml",
        "xmls",
        "form",
        "forms",
        "mmost",
        "mmosts",
        "ntfy",
        "ntfys",
        "gotify",
        "gotifys",
        "rocket",
        "rockets",
        "matrix",
        "matrixs",
        "apprise",
        "apprises",
        "ncloud",
        "nclouds",
        "signal",
        "signals",
    }
)


def address_refusal(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why ``address`` may not be a target, or None."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        return f"{address} is a cloud metadata address"
    if any(address in network for network in _ALWAYS_REFUSED) or address.is_link_local:
        return f"{address} is a link-local address"
    if address.is_loopback or address.is_private:
        if allow_private:
            return None
        return (
            f"{address} is a loopback or private address "
            "(allowed only with OPSLOOP_NOTIFICATIONS_ALLOW_PRIVATE_TARGETS)"
        )
    if address.is_multicast or address.is_unspecified or address.is_reserved:
        return f"{address} is not a unicast address"
    return None


def system_resolver(host: str) -> list[str]:
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def host_refusal(
    host: str, *, allow_private: bool, resolve: Resolver = system_resolver
) -> str | None:
    """Why ``host`` may not be a target (by name, or any address it resolves to), or None."""
    name = host.strip("[]").rstrip(".").lower()
    if name in METADATA_HOSTS:
        return f"{name} is a cloud metadata host"
    try:
        addresses: Iterable[str] = [str(ipaddress.ip_address(name))]
    except ValueError:
        try:
            addresses = resolve(name)
        except (OSError, UnicodeError) as exc:
            return f"cannot resolve {name}: {exc}"
    for text in addresses:
        problem = address_refusal(
            ipaddress.ip_address(text.split("%", 1)[0]), allow_private=allow_private
        )
        if problem:
            return problem if name == text else f"{name} resolves to {problem}"
    return None


def check_webhook_url(url: str, *, allow_private: bool, resolve: Resolver = system_resolver) -> str:
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as exc:
        raise ValidationFailed(f"target: not a URL ({exc})", field="target") from None
    if parts.scheme not in {"http", "https"}:
        raise ValidationFailed("target: a webhook URL must be http:// or https://", field="target")
    if not parts.hostname:
        raise ValidationFailed("target: the URL has no host", field="target")
    if parts.username or parts.password:
        raise ValidationFailed("target: put no credentials in a webhook URL", field="target")
    _refuse(host_refusal(parts.hostname, allow_private=allow_private, resolve=resolve))
    return url.strip()


def apprise_host(url: str) -> str | None:
    """The host an Apprise URL sends to, where it names one of the user's own; raises 422 for
    a URL Apprise cannot use."""
    # Imported here: it loads every notification service's plugin, and most commands (the
    # CLI's, serve's start) never check an Apprise URL.
    import apprise

    instance = apprise.Apprise.instantiate(url.strip())
    if instance is None:
        scheme = urlsplit(url).scheme or "(none)"
        raise ValidationFailed(
            f"target: not a valid Apprise URL (scheme {scheme!r} unknown or URL malformed)",
            field="target",
        )
    scheme = urlsplit(url).scheme.lower()
    if scheme not in SELF_HOSTED_SCHEMES:
        return None
    if scheme in {"mailto", "mailtos"}:
        smtp = parse_qs(urlsplit(url).query).get("smtp")
        host = smtp[0] if smtp else getattr(instance, "smtp_host", None)
        return str(host or "") or None
    return str(getattr(instance, "host", "") or "") or None


def check_apprise_url(url: str, *, allow_private: bool, resolve: Resolver = system_resolver) -> str:
    host = apprise_host(url)
    if host:
        _refuse(host_refusal(host, allow_private=allow_private, resolve=resolve))
    return url.strip()


def _refuse(problem: str | None) -> None:
    if problem:
        raise ValidationFailed(f"target: refused, {problem}", field="target")


def hint(url: str) -> str:
    """What may be shown of a target: scheme and host, never a path, token or password."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme in {"http", "https"}:
        return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}/…"
    shown = host if parts.scheme in SELF_HOSTED_SCHEMES else ""
    return f"{parts.scheme}://{shown}…"
