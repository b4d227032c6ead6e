# The urbansound image: the same package and `urbansound` entry point that `make run`
# installs (pip from the same pyproject.toml, here not editable, at the versions of
# constraints.txt), with `dask` and `prefect` from its dependencies. docker-compose.yml
# runs it as the Prefect server, the Dask scheduler, the Dask workers and the scheduled
# pipeline, so that the server's Prefect is the client's.
#
# BASE_IMAGE: any Debian-like image with Python 3.11 and its venv module. The default is
# the official image; where no registry is reachable, scripts/compose_smoke.sh builds a
# Debian bookworm one with debootstrap (python3 3.11, no `python`) and passes it here.
# Everything runs from the virtualenv /opt/venv, which gives both bases `python` and `pip`.
#
# No libsndfile1 from apt: the soundfile wheels for Linux x86_64 and aarch64 bundle
# libsndfile (1.2.2, with FLAC/OGG/MP3); the import check below fails the build on a
# platform where pip falls back to the wheel without it.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

# NUMBA_CACHE_DIR: the feature kernels compile on first use and cache the machine code;
# site-packages is not the app user's to write, /tmp always is. librosa's kernels are
# compiled into it at build time, by one process (numba/numba#10128, see urbansound/_librosa.py).
# PREFECT_HOME: the Prefect server's SQLite database and the clients' settings, the app user's.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    PREFECT_HOME=/home/app/.prefect \
    NUMBA_CACHE_DIR=/tmp/numba-cache \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# The user the services run as; match your uid/gid so that files written to the ./data
# bind mount stay yours: APP_UID=$(id -u) APP_GID=$(id -g) docker compose build
ARG APP_UID=1000
ARG APP_GID=1000
RUN groupadd --gid "${APP_GID}" app \
 && useradd --uid "${APP_UID}" --gid app --create-home --shell /usr/sbin/nologin app \
 && python3 -m venv /opt/venv

WORKDIR /src
# Dependencies first, in a layer rebuilt only when these files change: with no package
# folders copied yet, `pip install .` installs the dependencies and an empty project.
COPY constraints.txt pyproject.toml README.md ./
RUN pip install --no-cache-dir -c constraints.txt .
# Then the project itself, from the same pyproject.toml.
COPY urbansound ./urbansound
RUN pip install --no-cache-dir --no-deps --force-reinstall . \
 && python -c "import soundfile; print('libsndfile', soundfile.__libsndfile_version__)" \
 && urbansound --help > /dev/null \
 && python -c "import urbansound._librosa"

# The working directory of every service: `--workspace data` resolves to /app/data,
# the ./data bind mount in docker-compose.yml.
WORKDIR /app
RUN mkdir -p /app/data /home/app/.prefect \
 && chown app:app /app /app/data /home/app/.prefect \
 && chown -R app:app "${NUMBA_CACHE_DIR}"
USER ${APP_UID}:${APP_GID}

CMD ["urbansound", "--help"]
