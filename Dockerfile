FROM python:3.12-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY miniaws ./miniaws
COPY conf ./conf
RUN pip install --no-cache-dir .
ENV MINIAWS_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 4566
CMD ["python", "-m", "miniaws", "--host", "0.0.0.0"]
