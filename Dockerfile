# hazmat-checker worker and HTTP API. Built by docker-compose.yml.
# The image installs the wheel (as any user would), not an editable tree: the bundled city
# templates and the web page come with it as package data.
FROM python:3.11-slim AS wheel
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY hazmat ./hazmat
COPY rules ./rules
COPY routing ./routing
COPY streams ./streams
COPY monitor ./monitor
COPY api ./api
COPY config ./config
RUN pip wheel --no-deps --wheel-dir /dist .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=wheel /dist/ /dist/
RUN pip install /dist/*.whl && rm -rf /dist && useradd --create-home hazmat
USER hazmat
WORKDIR /home/hazmat
# Fail fast on a bad city configuration at image start, naming file and field.
CMD ["hazmat", "worker"]
