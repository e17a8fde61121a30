#!/usr/bin/env bash
# Build the Containerfile's image with podman and check it against a running container (loopback only).
#
#   scripts/container.sh [all]      base + build + check (the default)
#   scripts/container.sh base       the local base image: Debian bookworm from debootstrap, imported into podman
#   scripts/container.sh build      podman build with that base
#   scripts/container.sh check      run it on 127.0.0.1 and check /ready, /v1/normalize, /v1/extract,
#                                   /v1/embeddings, SIGTERM (scripts/container_check.py; JSON figures on stdout)
#
# No image registry is reachable here, so the base is made locally (../shared/notes/containers.md):
# `debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm`, slimmed like the
# official *-slim images (no apt lists, docs, man pages, locales), `podman import`ed. Where outbound TLS goes
# through an intercepting proxy, the CA bundle named by $PIP_CERT goes into that local base as pip's `cert`
# (the Containerfile itself stays generic).
#
# Another ARCH runs under qemu-user (apt-get install -y qemu-user-static binfmt-support; binfmt_misc mounted and
# `update-binfmts --enable qemu-aarch64`): its builds and runs hide /sys/devices/system/cpu, whose x86
# description makes onnxruntime's cpuinfo segfault under qemu (../shared/notes/arm64-emulation.md); SAVE_ANSWERS
# (a file: this image's answers) and EXPECT_ANSWERS (answers of another image: ranks equal, scores within 1e-3)
# compare the two architectures. Emulated timings say nothing about real ARM speed.
#
# Environment: ARCH (amd64 | arm64), LANGUAGE_GUARD (script | lingua), TAG (default
# localhost/workvec:serve-$ARCH[-lingua]), BASE_TAG, MIRROR, CONTEXT (the build context: default this working tree,
# as `docker build .`; HEAD: the last commit, without uncommitted edits), PODMAN_RUNTIME (default runc: crun fails
# here on hybrid cgroups), CHECK_OUT (a file for check's JSON report), KEEP_BASE_ROOT=1 (keep the debootstrap folder).
# Needs root, podman, runc and debootstrap (apt-get install -y podman runc debootstrap), and
# /etc/containers/containers.conf with `default_ulimits = []` and `cgroup_manager = "cgroupfs"` on machines
# like this one (the notes above).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
ARCH=${ARCH:-$(dpkg --print-architecture 2>/dev/null || echo amd64)}
LANGUAGE_GUARD=${LANGUAGE_GUARD:-script}
SUFFIX=$([ "$LANGUAGE_GUARD" = lingua ] && echo -lingua || true)
TAG=${TAG:-localhost/workvec:serve-$ARCH$SUFFIX}
BASE_TAG=${BASE_TAG:-localhost/workvec-base:bookworm-$ARCH}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
CONTEXT=${CONTEXT:-$REPO}
RUNTIME=${PODMAN_RUNTIME:-runc}
PY=${PYTHON:-$( [ -x "$REPO/.venv/bin/python" ] && echo "$REPO/.venv/bin/python" || echo python3)}

say() { echo "container.sh: $*" >&2; }
die() { say "$*"; exit 1; }
need() { command -v "$1" >/dev/null || die "$1 not found: $2"; }

base() {
    if podman image exists "$BASE_TAG"; then say "base $BASE_TAG exists (podman rmi it to remake it)"; return; fi
    need debootstrap "apt-get install -y debootstrap"
    [ "$(id -u)" = 0 ] || die "debootstrap needs root"
    if [ "$ARCH" != "$(dpkg --print-architecture)" ]; then
        [ -e "/proc/sys/fs/binfmt_misc/qemu-${ARCH/arm64/aarch64}" ] \
            || die "no binfmt handler for $ARCH: apt-get install -y qemu-user-static binfmt-support (../shared/notes/arm64-emulation.md)"
    fi
    local root
    root=$(mktemp -d /var/tmp/workvec-base-$ARCH.XXXXXX)
    say "debootstrap $ARCH into $root (a few minutes; more under emulation) ..."
    debootstrap --arch="$ARCH" --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$root" "$MIRROR" \
        > "$root.log" 2>&1 || { tail -20 "$root.log" >&2; die "debootstrap failed (log: $root.log)"; }
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
           "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/*
    if [ -n "${PIP_CERT:-}" ] && [ -f "$PIP_CERT" ]; then
        cp "$PIP_CERT" "$root/usr/local/share/pip-ca.crt"
        printf '[global]\ncert = /usr/local/share/pip-ca.crt\n' > "$root/etc/pip.conf"
    fi
    tar -C "$root" -c . | podman import --arch "$ARCH" - "$BASE_TAG" >/dev/null
    [ -n "${KEEP_BASE_ROOT:-}" ] || rm -rf "$root" "$root.log"
    say "base $BASE_TAG: $(podman image inspect -f '{{.Size}}' "$BASE_TAG") bytes"
}

build() {
    podman image exists "$BASE_TAG" || base
    if [ "$CONTEXT" = HEAD ]; then
        CONTEXT=$(mktemp -d /var/tmp/workvec-context.XXXXXX)
        trap 'rm -rf "$CONTEXT"' EXIT
        git -C "$REPO" archive HEAD | tar -x -C "$CONTEXT"
        say "context: HEAD ($(git -C "$REPO" rev-parse --short HEAD)) in $CONTEXT"
    fi
    say "podman build $TAG (base $BASE_TAG, LANGUAGE_GUARD=$LANGUAGE_GUARD, context $CONTEXT) ..."
    local started=$SECONDS
    local file="$CONTEXT/Containerfile" emulated=()
    [ -f "$file" ] || file="$REPO/Containerfile"
    if [ "$ARCH" != "$(dpkg --print-architecture)" ]; then  # qemu: hide the host's CPU description (see the top)
        mkdir -p /var/tmp/workvec-no-cpu-sysfs
        emulated=(-v /var/tmp/workvec-no-cpu-sysfs:/sys/devices/system/cpu:ro)
    fi
    podman build --format docker --arch "$ARCH" --build-arg BASE="$BASE_TAG" "${emulated[@]}" \
        --build-arg LANGUAGE_GUARD="$LANGUAGE_GUARD" -t "$TAG" -f "$file" "$CONTEXT" >&2
    say "built $TAG in $((SECONDS - started)) s: $(podman image inspect -f '{{.Size}}' "$TAG") bytes"
}

check() {
    podman image exists "$TAG" || die "no image $TAG: run '$0 build' first"
    local extra=()
    if [ "$ARCH" != "$(dpkg --print-architecture)" ]; then
        extra=(--run-option=--security-opt=mask=/sys/devices/system/cpu --ready-timeout 1800)
        [ -n "${EXPECT_ANSWERS:-}" ] && extra+=(--expect-answers "$EXPECT_ANSWERS")
    fi
    "$PY" "$REPO/scripts/container_check.py" --image "$TAG" --base "$BASE_TAG" --runtime "$RUNTIME" \
        ${CHECK_OUT:+--out "$CHECK_OUT"} ${SAVE_ANSWERS:+--save-answers "$SAVE_ANSWERS"} ${extra[@]+"${extra[@]}"}
}

need podman "apt-get install -y podman runc (../shared/notes/containers.md)"
case "${1:-all}" in
    base) base ;;
    build) build ;;
    check) check ;;
    all) base; build; check ;;
    *) die "usage: $0 [all|base|build|check]" ;;
esac
