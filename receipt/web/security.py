"""Security headers on every response, from one ASGI middleware.

Every response: nosniff, no referrer (the page keeps order tokens; URLs never leave the site),
no framing (X-Frame-Options and CSP frame-ancestors), and HSTS when the request came over
https — directly, or as uvicorn's --proxy-headers reports it from a trusted X-Forwarded-Proto.
The Content-Security-Policy depends on what is answered: HTML pages (applicant, reviewer) may
load only this site's own scripts, styles and images — no inline script, no inline style
attribute; the API docs pages have a policy of their own (Swagger UI / ReDoc start from an inline
script), kept as one entry in POLICIES so it is easy to adjust; everything else (JSON, files)
gets a policy that allows nothing at all.
A header a route sets itself is left as it is.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
               "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
               "frame-ancestors 'none'")
# /docs and /redoc: the pages start Swagger UI / ReDoc from an inline script; their assets are served
# from the package (receipt/web/docs.py), so no other host is allowed.
DOCS_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline'; "
               "style-src 'self' 'unsafe-inline'; img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
               "object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
POLICIES: dict[str, str] = {"/docs": DOCS_POLICY, "/redoc": DOCS_POLICY}  # path prefix -> policy for HTML
HSTS = "max-age=31536000; includeSubDomains"
COMMON = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "x-frame-options": "DENY",
          "cross-origin-opener-policy": "same-origin"}


def policy_for(path: str, content_type: str) -> str:
    if not content_type.startswith("text/html"):
        return API_POLICY
    for prefix, policy in POLICIES.items():
        if path == prefix or path.startswith(prefix + "/"):
            return policy
    return PAGE_POLICY


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                content_type = next((v.decode("latin-1") for k, v in headers if k.lower() == b"content-type"), "")
                wanted = dict(COMMON)
                wanted["content-security-policy"] = policy_for(scope.get("path", ""), content_type.lower())
                if https:
                    wanted["strict-transport-security"] = HSTS
                headers += [(k.encode(), v.encode()) for k, v in wanted.items() if k.encode() not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
