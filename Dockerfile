# The urbansound image: the same package and `urbansound` entry point that `make run`
# installs (pip from the same pyproject.toml, here not editable), with `dask` and
# `prefect` from its dependencies. docker-compose.yml runs it as the Dask scheduler,
# the Dask workers and the scheduled pipeline.
#
# No libsndfile1 from apt: the soundfile wheels for Linux x86_64 and aarch64 bundle
# libsndfile (1.2.2, with FLAC/OGG/MP3); the import check below fails the build on a
# platform where pip falls back to the wheel without it.
FROM python:3.11-slim

# NUMBA_CACHE_DIR: the feature kernels compile on first use and cache the machine code;
# site-packages is not the app user's to write, /tmp always is (a few seconds per container)
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    NUMBA_CACHE_DIR=/tmp/numba-cache

# The user the services run as; match your uid/gid so that files written to the ./data
# bind mount stay yours: APP_UID=$(id -u) APP_GID=$(id -g) docker compose build
ARG APP_UID=1000
ARG APP_GID=1000
RUN groupadd --gid "${APP_GID}" app \
 && useradd --uid "${APP_UID}" --gid app --create-home --shell /usr/sbin/nologin app

WORKDIR /src
# Dependencies first, in a layer rebuilt only when pyproject.toml changes: with no
# package folders copied yet, `pip install .` installs the dependencies and an empty project.
COPY pyproject.toml README.md ./
RUN pip install --no-cache-dir .
# Then the project itself, from the same pyproject.toml.
COPY urbansound ./urbansound
RUN pip install --no-cache-dir --no-deps --force-reinstall . \
 && python -c "import soundfile; print('libsndfile', soundfile.__libsndfile_version__)" \
 && urbansound --help > /dev/null

# The working directory of every service: `--workspace data` resolves to /app/data,
# the ./data bind mount in docker-compose.yml.
WORKDIR /app
RUN mkdir -p /app/data && chown app:app /app /app/data
USER ${APP_UID}:${APP_GID}

CMD ["urbansound", "--help"]
