# The API image. Build: docker compose build. Not used by the tests (no Docker engine there).
FROM python:3.11-slim
WORKDIR /srv/kdtcn
ENV PIP_NO_CACHE_DIR=1 PYSTOW_HOME=/srv/kdtcn/var/pystow
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY kg ./kg
COPY models ./models
COPY migrations ./migrations
COPY data ./data
# CPU build of torch first, so nothing pulls a CUDA build.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
    && pip install -e .
EXPOSE 8000
CMD ["kdtcn", "serve", "--host", "0.0.0.0", "--port", "8000"]
