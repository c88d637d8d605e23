# hazmat-checker worker (and, later, the HTTP API). Built by docker-compose.yml.
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY hazmat ./hazmat
COPY rules ./rules
COPY routing ./routing
COPY streams ./streams
COPY monitor ./monitor
COPY api ./api
COPY config ./config
RUN pip install -e . && useradd --create-home hazmat
USER hazmat
# Fail fast on a bad city configuration at image start, naming file and field.
CMD ["hazmat", "worker"]
