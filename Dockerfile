# syntax=docker/dockerfile:1
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# -tags noembed: api, worker and migrate without the embedded Temporal server
# and its Web UI (dev, bench and temporal-server need the default build).
RUN CGO_ENABLED=0 go build -tags noembed -trimpath -ldflags="-s -w" -o /out/aqio-connect ./cmd/aqio-connect

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/aqio-connect /usr/local/bin/aqio-connect
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/aqio-connect"]
CMD ["api"]
