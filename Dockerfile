# One image for every govid service; compose.yaml picks the command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY did ./did
COPY registry ./registry
COPY issuer ./issuer
COPY verifier ./verifier
COPY holder_wallet ./holder_wallet
COPY govid ./govid
RUN pip install . \
    && useradd --system --home-dir /data --shell /usr/sbin/nologin govid \
    && mkdir -p /data && chown govid /data

USER govid
VOLUME ["/data"]
ENTRYPOINT ["govid"]
CMD ["--help"]
