# syntax=docker/dockerfile:1
# The bot's image: every dependency from requirements/runtime.txt, each file checked against its
# hash; runs as an unprivileged user; `python -m bot` is the entry point (`run` by default, any
# other command as arguments: `docker run IMAGE migrate`). compose.yaml shows the full set.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY requirements/ requirements/
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --require-hashes -r requirements/runtime.txt -r requirements/build.txt
COPY pyproject.toml README.md ./
COPY bot/ bot/
COPY locales/ locales/
# In place (-e) at /app: the bot finds locales/ beside its package, as in the repository.
# --no-deps: every dependency came from the lock above; setuptools (build.txt) is used for this
# step only, then leaves the venv.
RUN /opt/venv/bin/pip install --no-deps --no-build-isolation -e . \
 && /opt/venv/bin/pip uninstall --yes setuptools \
 && rm -rf build ./*.egg-info

FROM ${PYTHON_IMAGE}
RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin bot \
 && mkdir /data \
 && chown bot:bot /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
# matplotlib (the /stats chart) keeps its font cache in MPLCONFIGDIR: built here once, in a
# folder the bot may write, instead of a temporary one rebuilt (with a warning) by every process
RUN mkdir /var/cache/matplotlib \
 && MPLCONFIGDIR=/var/cache/matplotlib /opt/venv/bin/python -c "import matplotlib.font_manager" \
 && chown -R bot:bot /var/cache/matplotlib
WORKDIR /app
# the code stays root's, read-only to the bot; only /data (SQLite, backups) is its own
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPLCONFIGDIR=/var/cache/matplotlib \
    DATABASE_URL=sqlite:////data/bot.sqlite3 \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8080
USER 10001:10001
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('HTTP_PORT', '8080'), timeout=4)"]
ENTRYPOINT ["python", "-m", "bot"]
CMD ["run"]
