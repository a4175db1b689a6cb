# One image for all four services; docker-compose.yml picks the service with
# `command: ["fupin", "serve", "<service>", ...]`. Configuration and secrets
# come from the environment at run time (see .env.example), never from here.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml ./
COPY shared/ shared/
COPY services/ services/
# Wheels for the project and every dependency, so the runtime stage needs no
# compiler and keeps no source tree.
RUN pip wheel --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FUPIN_DATA_DIR=/var/lib/fupin
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels fupin \
 && groupadd --system --gid 10001 fupin \
 && useradd --system --uid 10001 --gid fupin --home-dir /var/lib/fupin --shell /usr/sbin/nologin fupin \
 && install -d -o fupin -g fupin -m 750 /var/lib/fupin
WORKDIR /var/lib/fupin
USER fupin
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3)"]
CMD ["fupin", "serve", "registry", "--host", "0.0.0.0", "--port", "8000"]
