# One image for every govid service; compose.yaml picks the command.
# Installs exactly what uv.lock pins (the runtime group, no development tools),
# with the same uv release as the Makefile.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=/opt/govid UV_COMPILE_BYTECODE=1 \
    PATH=/opt/govid/bin:$PATH
WORKDIR /app

RUN pip install uv==0.13.9
# Dependencies first (a layer that changes only with the lock), then the code.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY did ./did
COPY openid4vc ./openid4vc
COPY service ./service
COPY registry ./registry
COPY issuer ./issuer
COPY verifier ./verifier
COPY holder_wallet ./holder_wallet
COPY govid ./govid
RUN uv sync --frozen --no-dev --no-editable \
    && useradd --system --home-dir /data --shell /usr/sbin/nologin govid \
    && mkdir -p /data && chown govid /data

USER govid
VOLUME ["/data"]
ENTRYPOINT ["govid"]
CMD ["--help"]
