# StyGig server image: SageMaker "bring your own container".
#
# SageMaker starts hosting containers as `docker run IMAGE serve` (model unpacked in
# /opt/ml/model, port 8080 unless SAGEMAKER_BIND_TO_PORT says otherwise) and training
# containers as `docker run IMAGE train`. Both commands are on PATH here:
#   serve -> stygig.serving.entrypoint:main   (the package's console script)
#   train -> python -m stygig.aws.train_entry (stygig build on SageMaker; see docs/deploy_sagemaker.md)
#
# Only the serving dependencies (pyproject's [project.dependencies]) are installed: no torch,
# no open_clip. Build and push with `stygig aws push-image` or:
#   docker build --platform linux/amd64 -t stygig:0.1.0 .
#
# The image runs as the unprivileged user "stygig" (APP_UID/APP_GID can be changed at build time).
# RUN_AS=root builds a variant for training jobs whose /opt/ml folders only root may write.

FROM python:3.11-slim-bookworm

ARG APP_UID=10001
ARG APP_GID=10001
ARG RUN_AS=stygig

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# libgomp1: the OpenMP runtime FAISS and ONNX Runtime use for their thread pools
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/*

COPY pyproject.toml README.md /tmp/stygig/
COPY src /tmp/stygig/src
RUN pip install /tmp/stygig \
 && rm -rf /tmp/stygig \
 && printf '#!/bin/sh\nexec python -m stygig.aws.train_entry "$@"\n' > /usr/local/bin/train \
 && chmod 0755 /usr/local/bin/train \
 && groupadd --gid "${APP_GID}" stygig \
 && useradd --uid "${APP_UID}" --gid stygig --create-home --shell /usr/sbin/nologin stygig

USER ${RUN_AS}
WORKDIR /home/stygig
EXPOSE 8080

# `docker run IMAGE` serves too; SageMaker passes `serve` or `train` as the command
CMD ["serve"]
