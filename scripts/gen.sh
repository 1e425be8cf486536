#!/usr/bin/env bash
# Regenerates gen/ from proto/: Go messages, gRPC stubs, grpc-gateway handlers
# and the merged OpenAPI document.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh
buf lint
rm -rf gen/accord gen/openapi/accord.swagger.json
buf generate
