FROM python:3.12-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY miniaws ./miniaws
COPY conf ./conf
RUN pip install --no-cache-dir .
ENV MINIAWS_DATA_DIR=/data
VOLUME ["/data"]
# AWS API, DNS (UDP and TCP), CloudFront edge; load balancer listeners bind the ports their listeners ask for
EXPOSE 4566 1053/udp 1053/tcp 8080
CMD ["python", "-m", "miniaws", "--host", "0.0.0.0"]
