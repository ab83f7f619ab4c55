"""The uvicorn side of bench/http.sh: a raw ASGI callable, no framework. GET /healthz answers
`ok`, anything else 404. Run: uvicorn --app-dir bench http_uvicorn_app:app"""

OK = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"3")]
MISSING = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"10")]


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    if scope["path"] == "/healthz" and scope["method"] in ("GET", "HEAD"):
        await send({"type": "http.response.start", "status": 200, "headers": OK})
        await send({"type": "http.response.body", "body": b"ok\n"})
    else:
        await send({"type": "http.response.start", "status": 404, "headers": MISSING})
        await send({"type": "http.response.body", "body": b"not found\n"})
