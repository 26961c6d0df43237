# autofactura service image. Build: docker build -t autofactura .
FROM python:3.11-slim-bookworm

# WeasyPrint's system libraries (Pango, HarfBuzz, fontconfig) and a font with Spanish glyphs.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 app
WORKDIR /app
COPY requirements.lock pyproject.toml ./
RUN pip install --no-cache-dir -r requirements.lock
COPY api ./api
COPY schema ./schema
COPY services ./services
COPY persistence ./persistence
RUN pip install --no-cache-dir --no-deps . && mkdir -p /app/var && chown app /app/var

USER app
ENV ENV=production \
    VAR_DIR=/app/var \
    DATABASE_URL=sqlite+aiosqlite:////app/var/autofactura.db
EXPOSE 8000
# In production set JWT_SECRET, ENCRYPTION_SECRET, PUBLIC_URL, DATABASE_URL (PostgreSQL) and the PAC:
# PAC=finkok|sw, PAC_USERNAME/PAC_PASSWORD or PAC_TOKEN, PAC_ENVIRONMENT=production (PAC=sandbox is refused).
CMD ["sh", "-c", "autofactura migrate && exec autofactura serve --host 0.0.0.0 --port 8000 --workers ${WORKERS:-2}"]
