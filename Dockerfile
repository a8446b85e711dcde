# syntax=docker/dockerfile:1
# ircbot as a container image: `docker build -t ircbot .`, then `docker compose up -d` (compose.yaml)
# or see docs/deployment.md, "Container".
#
# The image runs as an unprivileged user and needs no writable root file system: the only places it
# writes are the /data volume (the SQLite database when DATABASE_URL is left at its default, and any
# file a command writes to the working directory) and /tmp (give it a tmpfs with --read-only).

ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# Exactly what pyproject.toml builds the wheel from; .dockerignore keeps everything else out.
COPY pyproject.toml README.md LICENSE roles.yaml escalation.yaml regulations.yaml ./
COPY ircbot/ ircbot/
COPY commands/ commands/
COPY playbooks/ playbooks/
COPY templates/ templates/
# The ircbot wheel and a wheel of every dependency, so the final stage installs offline; the image has
# both extras: the stats chart (matplotlib) and the PostgreSQL driver compose.yaml's database needs.
RUN pip wheel --wheel-dir /wheels '.[charts,postgres]'

FROM python:${PYTHON_VERSION}-slim-bookworm
# Nothing may need a writable root file system: no bytecode written at run time (pip compiled it at
# install), HOME and matplotlib's font cache in /tmp, the database and the working directory on /data.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    MPLCONFIGDIR=/tmp/matplotlib \
    DATABASE_URL=sqlite:////data/ircbot.db \
    IRCBOT_CONFIG_DIR=/config
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --disable-pip-version-check --no-index --find-links=/wheels \
       "$(ls /wheels/ircbot_incident-*.whl)[charts,postgres]" \
    && groupadd --system --gid 10001 ircbot \
    && useradd --system --uid 10001 --gid ircbot --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin ircbot \
    && mkdir /data /config \
    && chown ircbot:ircbot /data
# Owned by ircbot before it is declared, so a new named volume starts out writable by the bot.
VOLUME ["/data"]
WORKDIR /data
USER 10001:10001
EXPOSE 3000
# /healthz is 200 once configuration and database are ready (and, in Socket Mode, the socket is up);
# urllib raises on a 503 or a refused connection, so the check exits non-zero. No curl in the image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4).status != 200)"]
ENTRYPOINT ["ircbot"]
CMD ["serve", "--host", "0.0.0.0", "--port", "3000"]
