"""Whether a URL a step reads has changed since the last run, asked of the server itself.

Any parameter whose value (or an item of whose list) is an http(s) URL is a remote input.
Before deciding to skip a step, the runner sends one conditional request per URL, with
the ETag and Last-Modified the server gave last time, and a short timeout:

- 304 Not Modified, or the same validators: unchanged, the step may be skipped;
- other validators: changed, the step runs ("remote source changed");
- no ETag and no Last-Modified: the server cannot say, so the step runs;
- no answer (offline, a timeout, an error status): it says it could not check, and keeps
  the copy it has, with the validators of last time.
"""

import http.client
import logging
import secrets
import threading
import urllib.error
import urllib.request
from typing import Any

log = logging.getLogger("nbsteps")

CHECK_TIMEOUT_S = 5.0
URL_PREFIXES = ("http://", "https://")


def find_urls(values: dict[str, Any]) -> list[str]:
    """The http(s) URLs among parameter values (strings, or strings in a list)."""
    urls = []
    for value in values.values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and item.lower().startswith(URL_PREFIXES):
                urls.append(item)
    return sorted(set(urls))


def check_remote_sources(values: dict[str, Any], known: dict[str, dict]) -> dict[str, dict]:
    """The validators of each URL now (`known`: those the last run recorded, by URL)."""
    return {url: check_url_within(url, known.get(url)) for url in find_urls(values)}


def check_url_within(url: str, previous: dict | None) -> dict:
    """check_url, given CHECK_TIMEOUT_S in all: a socket timeout bounds each read only, and
    a server sending its headers a byte at a time would hold the runner for ever. A check
    still going after that is left to finish on its own (a daemon thread) and ignored."""
    outcome: list[dict] = []
    thread = threading.Thread(target=lambda: outcome.append(check_url(url, previous)),
                              daemon=True, name="nbsteps-check-url")
    thread.start()
    thread.join(CHECK_TIMEOUT_S)
    if outcome:
        return outcome[0]
    return could_not_check(url, previous, f"no answer within {CHECK_TIMEOUT_S:g} s")


def check_url(url: str, previous: dict | None) -> dict:
    headers = {"User-Agent": "nbsteps-freshness"}
    if previous and previous.get("etag"):
        headers["If-None-Match"] = previous["etag"]
    if previous and previous.get("last_modified"):
        headers["If-Modified-Since"] = previous["last_modified"]
    try:
        found = request_validators(url, headers, "HEAD")
    except urllib.error.HTTPError as error:
        if error.code == 304 and previous:
            return previous
        if error.code not in (405, 501):
            return could_not_check(url, previous, f"HTTP {error.code}")
        try:  # a server that refuses HEAD: a GET whose body is never read
            found = request_validators(url, headers, "GET")
        except urllib.error.HTTPError as error:
            if error.code == 304 and previous:
                return previous
            return could_not_check(url, previous, f"HTTP {error.code}")
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as error:
            return could_not_check(url, previous, str(getattr(error, "reason", error)))
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as error:
        reason = getattr(error, "reason", None) or type(error).__name__
        return could_not_check(url, previous, str(reason))
    if not found["etag"] and not found["last_modified"]:
        log.info("%s gives no ETag or Last-Modified: it cannot say whether it changed, so "
                 "it is fetched again", url)
        return {"unvalidated": secrets.token_hex(4)}  # never equal: the step runs
    return found


def request_validators(url: str, headers: dict, method: str) -> dict:
    request = urllib.request.Request(url, headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=CHECK_TIMEOUT_S) as response:
        return {"etag": response.headers.get("ETag"),
                "last_modified": response.headers.get("Last-Modified")}


def could_not_check(url: str, previous: dict | None, reason: str) -> dict:
    if previous is None:
        return {"unchecked": reason}
    log.warning("could not check %s for changes (%s): keeping the copy from the last run",
                url, reason)
    return previous
