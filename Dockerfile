# hazmat-checker worker and HTTP API. Built by docker-compose.yml.
# The image installs the wheel (as any user would), not an editable tree: the bundled city
# templates and the web page come with it as package data.
FROM python:3.11-slim AS wheel
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# the routing binding (hazmat.routing._cch, setup.py) is C++: the slim image has no compiler
RUN apt-get update && apt-get install -y --no-install-recommends g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py MANIFEST.in README.md ./
COPY third_party ./third_party
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
# the binding links OpenMP (g++'s libgomp) for RoutingKit's parallel customisation
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 && rm -rf /var/lib/apt/lists/*
COPY --from=wheel /dist/ /dist/
RUN pip install /dist/*.whl && rm -rf /dist && useradd --create-home hazmat
USER hazmat
WORKDIR /home/hazmat
# Fail fast on a bad city configuration at image start, naming file and field.
CMD ["hazmat", "worker"]
