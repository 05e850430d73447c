# The infoshos image: the project in /app with the dependencies of the hashed locks (as `make
# install`, without the dev tools), Prefect's state in /app/.prefect and no telemetry.
# compose.yaml builds it; a Docker or Kubernetes work pool runs its flow runs in it (README,
# "Running on several machines"). Not built by the tests: no container runs where this project
# is tested (tests/test_workpool.py checks that it agrees with the Makefile and compose.yaml).
FROM python:3.11-slim
WORKDIR /app
COPY requirements/ requirements/
RUN python -m pip install --no-cache-dir --require-hashes -r requirements/pip.lock \
    && python -m pip install --no-cache-dir --require-hashes -r requirements/runtime.lock
COPY . .
RUN python -m pip install --no-cache-dir --no-deps -e .
ENV PREFECT_HOME=/app/.prefect PREFECT_SERVER_ANALYTICS_ENABLED=false DO_NOT_TRACK=1 \
    PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=180
CMD ["prefect", "worker", "start", "--pool", "infoshos", "--limit", "1"]
