"""Get an access token as a demo client and print it.

    TOKEN=$(.venv/bin/python -m hub.auth.demo_token county-1)
    curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:5000/fhir/Patient

The demo clients and their keys are made by ``flask client demo`` (``make run`` does it) in
``$INSTANCE_PATH/demo-clients/``. This builds the SMART client assertion (ES384, ``iss`` = ``sub``
= client_id, ``aud`` = the token endpoint, ``exp`` in four minutes, a fresh ``jti``), posts it to
``/auth/token`` with ``grant_type=client_credentials`` and prints the access token.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path

import requests
from joserfc import jwk, jwt

from hub.auth.demo import DEMO_CLIENTS, demo_directory

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def client_assertion(client_id: str, key: jwk.ECKey, token_url: str, lifetime: int = 240) -> str:
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": token_url,
        "iat": now,
        "exp": now + lifetime,
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode({"alg": "ES384", "kid": key.kid, "typ": "JWT"}, claims, key, algorithms=["ES384"])


def token_form(client_id: str, key: jwk.ECKey, token_url: str, scope: str | None = None) -> dict:
    """The form of a client_credentials request authenticated by a signed client assertion."""
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": client_assertion(client_id, key, token_url),
    }
    if scope:
        form["scope"] = scope
    return form


def get_token(name: str, url: str, instance_path: str, scope: str | None = None) -> dict:
    folder = demo_directory(instance_path)
    info_file, key_file = folder / f"{name}.client.json", folder / f"{name}.jwk.json"
    if not info_file.exists() or not key_file.exists():
        raise SystemExit(
            f"no demo client '{name}' in {folder}/ (run: flask --app wsgi client demo); "
            f"demo clients: {', '.join(DEMO_CLIENTS)}"
        )
    client_id = json.loads(info_file.read_text())["client_id"]
    key = jwk.import_key(json.loads(Path(key_file).read_text()))
    base = url.rstrip("/")
    try:
        config = requests.get(f"{base}/.well-known/smart-configuration", timeout=10)
        config.raise_for_status()
        token_url = config.json()["token_endpoint"]
        resp = requests.post(token_url, data=token_form(client_id, key, token_url, scope), timeout=10)
    except (requests.RequestException, ValueError, KeyError) as exc:
        raise SystemExit(f"cannot reach the hub at {base}: {exc}") from None
    body = resp.json() if resp.headers.get("Content-Type", "").startswith("application/json") else {}
    if resp.status_code != 200:
        raise SystemExit(
            f"token refused (HTTP {resp.status_code}): {body.get('error')}: {body.get('error_description')}"
        )
    return body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hub.auth.demo_token", description=__doc__.split("\n")[0])
    parser.add_argument("name", help=f"demo client: {', '.join(DEMO_CLIENTS)}")
    parser.add_argument("--url", default=os.environ.get("HUB_URL", "http://127.0.0.1:5000"), help="the hub")
    parser.add_argument("--scope", default=None, help="scopes to ask for (default: all registered)")
    parser.add_argument(
        "--instance", default=os.environ.get("INSTANCE_PATH", "instance"), help="the hub's INSTANCE_PATH"
    )
    parser.add_argument("--json", action="store_true", help="print the whole token response")
    args = parser.parse_args(argv)
    body = get_token(args.name, args.url, args.instance, args.scope)
    print(json.dumps(body, indent=2) if args.json else body["access_token"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
