# The Wenji image: the web app (gunicorn), the Celery worker and beat all run from it.
# Built by docker-compose.yml; see .env.example for the configuration it expects.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Cairo draws the report's charts into its Word file; the CJK fonts give them Chinese glyphs.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libcairo2 fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*

# Dependencies before the code, so a code change reuses this layer.
COPY requirements/base.txt requirements/base.txt
RUN pip install --no-cache-dir -r requirements/base.txt

COPY . .

# The settings refuse to load without these keys; these dummies exist for this one command
# only and are not part of the image's environment.
RUN SECRET_KEY=collectstatic-at-build-time-only IDENTITY_HASH_KEY=collectstatic-at-build-time-only \
    python manage.py collectstatic --noinput

# The code stays root-owned and read-only to the app; it may write only to media.
RUN groupadd --system wenji \
    && useradd --system --gid wenji --home-dir /app --no-create-home --shell /usr/sbin/nologin wenji \
    && mkdir -p /app/media \
    && chown wenji:wenji /app/media
USER wenji

EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "--config", "gunicorn.conf.py", "--bind", "0.0.0.0:8000"]
