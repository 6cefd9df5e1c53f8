# Shared helpers for Scripts/*. Source it; do not run it.
# shellcheck shell=bash

ADRNORM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export ADRNORM_ROOT

log() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; }

as_root() {
  if [[ $(id -u) == 0 ]]; then "$@"; else sudo "$@"; fi
}

# ensure_debian_packages PKG... : installs the packages that are missing,
# running apt-get update at most once per invocation.
_apt_updated=0
ensure_debian_packages() {
  local missing=()
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [[ ${#missing[@]} == 0 ]] && return 0
  log "installing Debian packages: ${missing[*]}"
  if [[ $_apt_updated == 0 ]]; then
    as_root apt-get update -qq
    _apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# What building adrnorm needs.
BUILD_PACKAGES=(pkg-config libssl-dev openssl libprotobuf-c-dev protobuf-c-compiler protobuf-compiler libopenblas-dev libdnnl-dev)
# What Scripts/codegen needs: protoc (Python), protoc-c (C) and Debian's
# python3-protobuf for Scripts/lib/swift_wire_codegen.py (the Swift mirror).
CODEGEN_PACKAGES=(protobuf-compiler protobuf-c-compiler python3 python3-protobuf)
# What the test and benchmark scripts need on top: the Python reference
# (Debian's torch 1.13 + transformers in a venv).
TEST_PACKAGES=(python3 python3-venv python3-pip python3-torch python3-numpy)
# What the Java client's build and tests need (Scripts/test-java-client): JDK 17, protoc and
# protobuf-java 3.21 (the protobuf classes are generated at build time), JUnit 5.
JAVA_PACKAGES=(openjdk-17-jdk-headless protobuf-compiler libprotobuf-java junit5)
# What the Python client's tests need (Scripts/test-python-client): a plain
# venv of its own, filled from PyPI.
PYCLIENT_PACKAGES=(python3 python3-venv python3-pip)
# What its failover tests against real replicas need on top
# (Clients/python/tests-replicas): HAProxy in front of the replicas, and a Java
# runtime for PySpark's local mode.
PYCLIENT_REPLICA_PACKAGES=(haproxy openjdk-17-jre-headless)

swift_bin() {
  if command -v swift >/dev/null; then command -v swift
  elif [[ -x /opt/swift/usr/bin/swift ]]; then echo /opt/swift/usr/bin/swift
  else log "swift not found (expected on PATH or at /opt/swift/usr/bin)"; return 1
  fi
}
