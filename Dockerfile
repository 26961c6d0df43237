# syntax=docker/dockerfile:1
# autofactura service image (issue 12). Build: docker build -t autofactura .
#   docker run -p 8000:8000 -v autofactura:/var/lib/autofactura -e JWT_SECRET=... autofactura            # serve
#   docker run --no-healthcheck -e DATABASE_URL=... autofactura worker                                      # the worker
# README "Production topology" says what each process needs.

# --- build: the project and its runtime dependencies in a virtual environment -------------
FROM python:3.11-slim-bookworm AS build
RUN python -m venv /opt/venv
WORKDIR /src
COPY requirements.lock pyproject.toml ./
COPY api ./api
COPY schema ./schema
COPY services ./services
COPY persistence ./persistence
# The project's own dependencies (pyproject.toml, no extras: no test packages), each at the
# version requirements.lock pins (-c: a constraint, so the lock's test-only lines install
# nothing).
RUN /opt/venv/bin/pip install --no-cache-dir -c requirements.lock .

# --- runtime -------------------------------------------------------------------------------
FROM python:3.11-slim-bookworm
# WeasyPrint's system libraries (Pango, HarfBuzz, fontconfig) and a font with Spanish glyphs.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 app \
 && mkdir -p /var/lib/autofactura \
 && chown app /var/lib/autofactura
COPY --from=build /opt/venv /opt/venv

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    ENV=production \
    LOG_FORMAT=json \
    VAR_DIR=/var/lib/autofactura \
    DATABASE_URL=sqlite+aiosqlite:////var/lib/autofactura/autofactura.db
# The SQLite database (the one-host default, documents and PDFs included), the .eml spool
# without SMTP: kept across container restarts and upgrades.
VOLUME ["/var/lib/autofactura"]
WORKDIR /var/lib/autofactura
USER app
EXPOSE 8000

# /health answers 200 once the database answers. For `serve` only: run the worker with
# --no-healthcheck (compose: `healthcheck: {disable: true}`), it serves no HTTP.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status == 200 else 1)"]

# In production set JWT_SECRET, ENCRYPTION_SECRET, PUBLIC_URL, and the PAC: PAC=finkok|sw,
# PAC_USERNAME/PAC_PASSWORD or PAC_TOKEN, PAC_ENVIRONMENT=production (PAC=sandbox is refused);
# several hosts: DATABASE_URL (PostgreSQL) and REDIS_URL. WEB_CONCURRENCY: worker processes.
ENTRYPOINT ["autofactura"]
# --migrate: on PostgreSQL too, under an advisory lock, so replicas starting together
# migrate once (SQLite always migrates at start).
CMD ["serve", "--host", "0.0.0.0", "--port", "8000", "--migrate"]
