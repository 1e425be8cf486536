#!/usr/bin/env bash
# Installs the pinned code generators and CLI tools into $(go env GOPATH)/bin
# when they are missing. Sourced by the other scripts.
set -euo pipefail
GOBIN_DIR="$(go env GOPATH)/bin"
export PATH="$GOBIN_DIR:$PATH"
install_tool() { # name package@version
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "installing $2" >&2
    go install "$2"
  fi
}
install_tool buf github.com/bufbuild/buf/cmd/buf@v1.75.0
install_tool protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
install_tool protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
install_tool protoc-gen-grpc-gateway github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@v2.33.0
install_tool protoc-gen-openapiv2 github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2@v2.33.0
