"""The FastAPI application: three pages (Review, Chat, Explore), a document viewer, and the
JSON API they call.

Safety by construction: the graph and the index are opened read-only; the only writes are
review decisions to the review store; every request body is a pydantic model; every error
is JSON `{"error": "..."}`. Pages are static files whose scripts insert document text
with `textContent` only, and the Content-Security-Policy forbids inline scripts, so a
review holding `<script>` is shown as text and could not run even if it were parsed.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from distill.errors import DistillError
from distill.web.chat import THREAD_PATTERN, ChatService, Question
from distill.web.explore import NEIGHBOURS, Explorer, NotFound

if TYPE_CHECKING:
    from distill.agent.chat import Agent
    from distill.config import Config
    from distill.web.review import ReviewService

STATIC = Path(__file__).parent / "static"
PAGES = {"review": "review.html", "chat": "chat.html", "explore": "explore.html", "doc": "doc.html"}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

Id = Annotated[str, Query(min_length=1, max_length=500)]


def create_app(
    config: Config,
    *,
    review: ReviewService | None = None,
    agent_factory: Callable[[], Agent] | None = None,
    host: str = "127.0.0.1",
) -> FastAPI:
    """The app over `config`'s graph and index, `review`'s store (if any) and an agent
    (built by `agent_factory`, default `Agent(config)`, on the first question)."""
    explorer = Explorer(config)
    chat = ChatService(config, agent_factory)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        chat.close()
        explorer.close()
        if review is not None:
            review.close()

    app = FastAPI(
        title="distill", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.state.explorer, app.state.chat, app.state.review = explorer, chat, review
    local = host in LOOPBACK

    @app.middleware("http")
    async def _guard(request: Request, call_next: Any) -> Any:
        if local and _host_name(request.headers.get("host", "")) not in LOOPBACK:
            # another site's page cannot reach the app through a DNS name aimed at 127.0.0.1
            return JSONResponse(
                {"error": "this app answers only on localhost / 127.0.0.1"}, status_code=400
            )
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    _errors(app)

    # pages

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/review" if review is not None else "/explore")

    for name, filename in PAGES.items():
        app.add_api_route(f"/{name}", _page(filename), methods=["GET"], include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    # explore and documents (read-only)

    @app.get("/api/info")
    def info() -> dict[str, Any]:
        out = explorer.info().model_dump()
        out["review"] = review is not None
        return out

    @app.get("/api/products")
    def products(
        q: Annotated[str, Query(max_length=200)] = "",
        limit: Annotated[int, Query(ge=1, le=200)] = 30,
    ) -> list[dict[str, Any]]:
        return [hit.model_dump() for hit in explorer.search_products(q, limit)]

    @app.get("/api/product")
    def product(
        id: Id, neighbours: Annotated[int, Query(ge=1, le=30)] = NEIGHBOURS
    ) -> dict[str, Any]:
        return explorer.product(id, neighbours).model_dump()

    @app.get("/api/document")
    def document(id: Id) -> dict[str, Any]:
        return explorer.document(id).model_dump()

    @app.get("/api/catalog")
    def catalog(
        q: Annotated[str, Query(max_length=200)] = "",
        limit: Annotated[int, Query(ge=1, le=50)] = 10,
    ) -> list[dict[str, Any]]:
        return [hit.model_dump() for hit in explorer.catalog_search(q, limit)]

    # chat

    @app.post("/api/chat")
    def ask(question: Question) -> Any:
        from sse_starlette.sse import EventSourceResponse

        return EventSourceResponse(chat.stream(question), ping=15)

    @app.get("/api/threads")
    def threads() -> list[dict[str, Any]]:
        return [t.model_dump() for t in chat.threads()]

    @app.get("/api/thread")
    def thread(id: Annotated[str, Query(pattern=THREAD_PATTERN)]) -> list[dict[str, Any]]:
        return [t.model_dump() for t in chat.history(id)]

    # review (the only writes)

    if review is not None:
        from distill.web.review import add_review_routes

        add_review_routes(app, review)

    return app


def _host_name(header: str) -> str:
    """`127.0.0.1:8765` → `127.0.0.1`; `[::1]:8765` → `::1`."""
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def _page(filename: str) -> Callable[[], FileResponse]:
    def page() -> FileResponse:
        return FileResponse(STATIC / filename, media_type="text/html")

    return page


def _errors(app: FastAPI) -> None:
    """Every error is JSON with a message a person can act on."""

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=404)

    @app.exception_handler(DistillError)
    async def _distill(request: Request, exc: DistillError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=400)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(p) for p in error['loc'] if p != 'body') or 'body'}: {error['msg']}"
            for error in exc.errors()
        ]
        return JSONResponse(
            {"error": "invalid request: " + "; ".join(problems)},
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if exc.status_code != 404 else f"no such page: {request.url.path}"
        return JSONResponse({"error": str(message)}, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            {"error": f"internal error ({type(exc).__name__}: {exc}); please report it"},
            status_code=500,
        )
