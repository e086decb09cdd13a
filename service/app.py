"""The FastAPI application: routers under /api/v1, problem-details errors, and the solve queue."""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline  # /docs and /redoc with their assets from the package, no CDN

from service import health
from service.body_limit import BodyLimit
from service.catalogue.router import router as catalogue_router
from service.db.engine import make_engine, make_session_factory
from service.errors import install_error_handlers
from service.idempotency.http import install_idempotency
from service.imports.pool import ImportPool
from service.logging import LogRequests, configure_logging
from service.openapi import install_openapi
from service.participants.router import router as participants_router
from service.placements.router import router as placements_router
from service.settings import ServiceSettings, get_settings
from service.suggestions.router import router as suggestions_router

API = "/api/v1"
SWITCH_INTERVAL_S = 0.001
log = logging.getLogger("service")


def create_app(settings: ServiceSettings | None = None, import_pool: ImportPool | None = None) -> FastAPI:
    """Build the app; the database schema must already be at head (`placement serve` migrates first).

    `import_pool`: the processes that run imports (service/imports/pool.py); given, it is the caller's to stop (tests
    share one), else the app starts its own (its workers at the first import) and stops it with the service.
    """
    settings = settings or get_settings()
    owns_pool = import_pool is None
    imports = import_pool or ImportPool(settings.import_workers)
    configure_logging(settings.log_level)
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from service.plans.runner import make_runner

        # Requests that compute (suggestions over thousands of participants) hold the GIL in worker threads; a short
        # switch interval lets the event loop (and so /health) take its turn within a millisecond, not 5.
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        app.state.plan_runner = make_runner(settings, app.state.session_factory)
        app.state.plan_runner.recover()
        yield
        app.state.plan_runner.shutdown()
        if owns_pool:
            imports.shutdown()
        engine.dispose()
        await app.state.health_check.close()

    app = FastAPIOffline(
        title="Placement service",
        version="0.1.0",
        description="Matching participants to work-training places at social enterprises (ASF).",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.health_check = health.health_check(settings.database_url)
    app.state.import_pool = imports
    app.state.session_factory = make_session_factory(engine)
    install_error_handlers(app)
    from service.audit.denied import on_error

    app.state.on_error = on_error

    # The innermost middleware (added first): the body is counted as the app reads it.
    app.add_middleware(
        BodyLimit,
        limit=settings.max_body_bytes,
        by_path={
            f"{API}/imports": settings.max_upload_bytes,
            # The web page posts the upload again, packed twice in base64, to apply it, and says "too large" in
            # Swedish itself for a declared length (service/web/import_pages.py); this catches the undeclared.
            "/import": 2 * settings.max_upload_bytes + 1024 * 1024,
        },
    )

    install_idempotency(app)

    app.add_middleware(LogRequests)

    app.include_router(health.router, prefix=API)
    for router in (catalogue_router, participants_router, placements_router, suggestions_router, *_optional_routers()):
        app.include_router(router, prefix=API)
    from service.web.pages import install_web  # the Swedish pages (docs/web.md)

    install_web(app)
    # After every router: each operation's errors, problem bodies and links, and the configured limits.
    install_openapi(app, API, {"PlanCreate.time_limit_s": settings.max_plan_seconds})
    return app


def freeze_heap() -> None:
    """Move everything alive now (the modules, the app, its routes and schemas: some 170,000 objects) out of the
    garbage collector's reach, for a server about to serve.

    A full collection walks every tracked object with the GIL held; over the started server's heap that took
    100-700 ms (by the load on the machine) in which no request, `/health` included, could run. What is frozen is
    never collected (it lives as long as the process anyway); what requests allocate is collected as before. Only for
    a process that serves one app: a test process building many apps would keep each one's cycles for good.
    """
    gc.collect()
    gc.freeze()


def _optional_routers() -> list:  # type: ignore[type-arg]
    """Feature routers, each in its own folder."""
    from service.audit.router import router as audit_router
    from service.imports.router import router as imports_router
    from service.plans.router import router as plans_router
    from service.reports.router import router as reports_router
    from service.subject.router import router as subject_router

    return [plans_router, imports_router, reports_router, audit_router, subject_router]
