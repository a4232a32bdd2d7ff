"""Drives the real garminconnect 0.3.20 client against the emulator and prints JSON results.

Usage: python garmin_interop.py BASE_URL [scenarios|resilience]
       python garmin_interop.py BASE_URL edge CA_FILE   (the emulator's --edge mode: HTTPS with
       its CA; logs in with curl_cffi, then with curl_cffi's strategies skipped)

Every host (sso, connectapi, diauth) is pointed at BASE_URL, the client's anti-WAF pauses are
skipped, and a guard refuses any request that is not to BASE_URL's host (so nothing can reach a
real Garmin host, e.g. the JWT_WEB fallback's service URL). The last stdout line is one JSON
object: scenario name -> outcome.
"""

import base64
import io
import json
import sys
import traceback
import types
import urllib.parse
import zipfile

BASE = sys.argv[1].rstrip("/")
EMULATOR_HOST = urllib.parse.urlsplit(BASE).netloc
REQUESTS: list[tuple[str, str]] = []
# Edge mode: every session trusts the CA the emulator made.
CA_FILE = sys.argv[3] if len(sys.argv) > 3 else None


class OffEmulatorRequest(Exception):
    """A request to anything but the emulator."""


def _guard(method: str, url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.netloc != EMULATOR_HOST:
        raise OffEmulatorRequest(f"refused request to {parts.scheme}://{parts.netloc}")
    REQUESTS.append((method.upper(), parts.path))


import requests  # noqa: E402

_orig_requests = requests.Session.request


def _guarded_requests(self, method, url, *args, **kwargs):
    _guard(method, url)
    if CA_FILE:
        kwargs["verify"] = CA_FILE
    return _orig_requests(self, method, url, *args, **kwargs)


requests.Session.request = _guarded_requests

from curl_cffi import requests as cffi_requests  # noqa: E402

_orig_cffi = cffi_requests.Session.request


def _guarded_cffi(self, method, url, *args, **kwargs):
    _guard(method, url)
    if CA_FILE:
        kwargs["verify"] = CA_FILE
    return _orig_cffi(self, method, url, *args, **kwargs)


cffi_requests.Session.request = _guarded_cffi

import garminconnect  # noqa: E402
import garminconnect.client.sso as sso_module  # noqa: E402
from garminconnect import (  # noqa: E402
    Garmin,
    GarminConnectAuthenticationError,
    GarminConnectNotFoundError,
)

SLEEPS: list[float] = []
# The strategies pause 2-20 s between page and POST to look human; the emulator does not care.
sso_module.time = types.SimpleNamespace(sleep=lambda s: SLEEPS.append(s))

ALL_STRATEGIES = {"mobile+cffi", "mobile+requests", "widget+cffi", "portal+cffi", "portal+requests"}


def point_at_emulator(g: Garmin) -> Garmin:
    c = g.client
    c._sso = BASE
    c._connectapi = BASE
    c._connect = BASE
    c._di_token_url = f"{BASE}/di-oauth2-service/oauth/token"
    return g


def make(email, password, only=None, **kwargs) -> Garmin:
    g = point_at_emulator(Garmin(email, password, **kwargs))
    if only:
        g.client.skip_strategies = ALL_STRATEGIES - {only}
    return g


def jwt_claims(token: str) -> dict:
    payload = token.split(".")[1]
    payload += "=" * (-len(payload) % 4)
    return json.loads(base64.urlsafe_b64decode(payload))


def login_outcome(g: Garmin, **login_kwargs) -> dict:
    start = len(REQUESTS)
    g.login(**login_kwargs)
    claims = jwt_claims(g.client.di_token)
    return {
        "ok": True,
        "display_name": g.display_name,
        "profile_id": g.profile_id,
        "unit_system": g.unit_system,
        "di_client_id": g.client.di_client_id,
        "has_refresh_token": bool(g.client.di_refresh_token),
        "jwt_has_exp": isinstance(claims.get("exp"), int),
        "jwt_client_id": claims.get("client_id"),
        "requests": REQUESTS[start:],
    }


def expect_error(fn, error_type) -> dict:
    try:
        fn()
    except error_type as e:
        return {"ok": True, "error": type(e).__name__, "message": str(e)[:300]}
    except Exception as e:  # noqa: BLE001
        return {"ok": False, "error": type(e).__name__, "message": str(e)[:300]}
    return {"ok": False, "error": None, "message": "no error raised"}


def check_download(g: Garmin, activity_id: int) -> dict:
    data = g.download_activity(activity_id, dl_fmt=Garmin.ActivityDownloadFormat.ORIGINAL)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = z.namelist()
        fit_names = [n for n in names if n.lower().endswith(".fit")]
        fit = z.read(fit_names[0]) if fit_names else b""
    return {
        "ok": bool(fit_names),
        "zip_bytes": len(data),
        "names": names,
        "fit_bytes": len(fit),
        "fit_signature": fit[8:12].decode("ascii", "replace"),
    }


def scenarios() -> dict:
    out = {}
    run = lambda name, fn: out.__setitem__(name, _safe(fn))  # noqa: E731

    run("login_default_chain", lambda: login_outcome(make("demo@example.com", "demo-password")))
    for strategy in ["mobile+requests", "widget+cffi", "portal+cffi", "portal+requests"]:
        run(f"login_{strategy}", lambda s=strategy: login_outcome(make("demo@example.com", "demo-password", only=s)))

    prompts = []

    def prompt():
        prompts.append(1)
        return "123456"

    run("mfa_default_chain", lambda: {**login_outcome(make("mfa@example.com", "demo-password", prompt_mfa=prompt)), "prompts": len(prompts)})
    run("mfa_widget", lambda: login_outcome(make("mfa@example.com", "demo-password", only="widget+cffi", prompt_mfa=prompt)))
    run("mfa_portal", lambda: login_outcome(make("mfa@example.com", "demo-password", only="portal+requests", prompt_mfa=prompt)))

    def deferred_mfa():
        first = make("mfa@example.com", "demo-password", return_on_mfa=True)
        status, state = first.login()
        state = json.loads(json.dumps(state))  # as if stored and read back
        second = make("mfa@example.com", "demo-password")
        second.resume_login(state, "123456")
        return {"ok": status == "needs_mfa" and bool(second.client.di_token), "status": status, "flow": state.get("flow"), "display_name": second.display_name}

    run("mfa_deferred_resume", deferred_mfa)
    run("wrong_password", lambda: expect_error(lambda: make("demo@example.com", "nope").login(), GarminConnectAuthenticationError))
    run(
        "wrong_mfa_code",
        lambda: expect_error(lambda: make("mfa@example.com", "demo-password", prompt_mfa=lambda: "000000").login(), GarminConnectAuthenticationError),
    )

    g = make("demo@example.com", "demo-password")
    g.login()

    def listing():
        page = g.get_activities(0, 5)
        everything = g.get_activities_by_date("2000-01-01", "2100-01-01")
        past_end = g.get_activities(10_000, 5)
        count = g.connectapi("/activitylist-service/activities/count")
        first = page[0]
        return {
            "ok": True,
            "page_len": len(page),
            "all_len": len(everything),
            "past_end_len": len(past_end),
            "total_count": count.get("totalCount"),
            "first": {k: first.get(k) for k in ["activityId", "activityName", "startTimeLocal", "startTimeGMT", "distance", "duration"]},
            "first_type_key": first["activityType"]["typeKey"],
            "ids_newest_first": [a["activityId"] for a in everything],
            "starts_gmt": [a["startTimeGMT"] for a in everything],
            "manual_ids": [a["activityId"] for a in everything if a.get("manualActivity")],
        }

    run("list", listing)
    listed = out.get("list", {})
    ids = [i for i in listed.get("ids_newest_first", []) if i not in listed.get("manual_ids", [])]
    if ids:
        run("download_original", lambda: check_download(g, ids[0]))
    for manual_id in listed.get("manual_ids", [])[:1]:
        run("download_manual", lambda m=manual_id: expect_error(lambda: g.download_activity(m, dl_fmt=Garmin.ActivityDownloadFormat.ORIGINAL), GarminConnectNotFoundError))

    def tokens_and_refresh():
        stored = g.client.dumps()
        again = point_at_emulator(Garmin())
        start = len(REQUESTS)
        again.login(tokenstore=stored)
        no_sso = all(not p.startswith(("/mobile/", "/portal/", "/sso/")) for _, p in REQUESTS[start:])
        old_refresh = again.client.di_refresh_token
        again.client._refresh_di_token()
        rotated = again.client.di_refresh_token != old_refresh
        profile = again.connectapi("/userprofile-service/socialProfile")
        return {"ok": no_sso and rotated and bool(profile.get("displayName")), "no_sso": no_sso, "rotated": rotated}

    run("tokens_and_refresh", tokens_and_refresh)
    return out


def _safe(fn):
    try:
        return fn()
    except Exception as e:  # noqa: BLE001
        return {"ok": False, "error": type(e).__name__, "message": str(e)[:500], "trace": traceback.format_exc()[-2000:]}


def resilience() -> dict:
    """One default-chain login while the Rust side has switched faults on (see python_interop.rs)."""
    g = make("demo@example.com", "demo-password")
    out = {"login": _safe(lambda: login_outcome(g))}
    out["list"] = _safe(lambda: {"ok": True, "len": len(g.get_activities(0, 3))})
    return out


CFFI_STRATEGIES = {"mobile+cffi", "widget+cffi", "portal+cffi"}


def edge() -> dict:
    """Behind the emulator's edge: curl_cffi's browser TLS gets through (plain and MFA login,
    then list and download over the lenient connectapi); plain `requests` alone is refused."""
    out = {}
    g = make("demo@example.com", "demo-password")
    out["login_with_curl_cffi"] = _safe(lambda: login_outcome(g))
    out["list_after_edge_login"] = _safe(lambda: {"ok": len(g.get_activities(0, 3)) > 0})
    out["mfa_with_curl_cffi"] = _safe(
        lambda: login_outcome(make("mfa@example.com", "demo-password", prompt_mfa=lambda: "123456"))
    )

    def plain_only():
        p = make("demo@example.com", "demo-password")
        p.client.skip_strategies = set(CFFI_STRATEGIES)
        start = len(REQUESTS)
        outcome = expect_error(p.login, Exception)
        outcome["token"] = bool(getattr(p.client, "di_token", None))
        outcome["ok"] = outcome["error"] is not None and not outcome["token"]
        outcome["requests"] = REQUESTS[start:]
        return outcome

    out["refused_without_curl_cffi"] = _safe(plain_only)
    return out


if __name__ == "__main__":
    mode = sys.argv[2] if len(sys.argv) > 2 else "scenarios"
    results = {"resilience": resilience, "edge": edge}.get(mode, scenarios)()
    results["_meta"] = {"garminconnect": getattr(garminconnect, "__version__", None), "sleeps_skipped": len(SLEEPS)}
    print(json.dumps(results))
