#!/bin/sh
# Build the appliance's SD-card image, or only its root filesystem.
#
#   image/build.sh [--profile raspios|debian] [--rootfs-only] [--out DIR]
#
# Runs on plain x86-64 (or arm64) Debian as root: mmdebstrap bootstraps arm64 (foreign
# maintainer scripts run under qemu-user-static via binfmt_misc), genimage writes the
# partitions with mkfs.vfat/mtools and mke2fs -d: no loop devices, no mounts.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
PROFILE=debian
ROOTFS_ONLY=0
OUT="$HERE/out"
WORK="$HERE/work"
while [ $# -gt 0 ]; do
    case "$1" in
    --profile) PROFILE=$2; shift 2 ;;
    --rootfs-only) ROOTFS_ONLY=1; shift ;;
    --out) OUT=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
# shellcheck disable=SC1090
. "$HERE/profiles/$PROFILE.env"
PYTHON=${PYTHON:-$REPO/.venv/bin/python}
WIFI_COUNTRY=${WIFI_COUNTRY:-BE}
DISK_ID=${DISK_ID:-5cc0a001}
KEY=${KEY:-$WORK/keys/release.key}  # the release key; a throwaway one is made for test builds
mkdir -p "$WORK" "$OUT"

step() { echo "== $(date -u +%H:%M:%S) $*"; }
scc() { (cd "$REPO" && "$PYTHON" -c 'import sys; from appliance.cli import main; sys.exit(main())' "$@"); }

step "wheelhouse (aarch64, CPython 3.11)"
rm -rf "$WORK/wheelhouse"
"$PYTHON" "$HERE/wheelhouse.py" --project "$REPO" --out "$WORK/wheelhouse"

step "signed release bundle"
if [ ! -e "$KEY" ]; then
    scc bundle keygen --out "$(dirname "$KEY")" \
        --name "$(basename "$KEY" .key)"
fi
rm -rf "$WORK/bundle"
app_wheel=$(ls "$WORK"/wheelhouse/scc_appliance-*.whl)
scc bundle build --wheel "$app_wheel" \
    --wheelhouse "$WORK/wheelhouse" --key "$KEY" --out "$WORK/bundle"
BUNDLE=$(ls "$WORK"/bundle/scc-*.bundle)
BUNDLE_VERSION=$(basename "$BUNDLE" .bundle | sed 's/^scc-//')
scc bundle verify "$BUNDLE" --keys "$(dirname "$KEY")"
PUBKEY="${KEY%.key}.pub"

packages=$(grep -hv '^\s*#' "$HERE/packages/common.txt" | tr '\n' ',' | sed 's/,,*/,/g; s/,$//')
if [ "$ROOTFS_ONLY" = 0 ]; then
    boot=$(grep -hv '^\s*#' "$HERE/$BOOT_PACKAGES" | tr '\n' ',' | sed 's/,,*/,/g; s/,$//')
    packages="$packages,$boot"
fi

step "root filesystem ($PROFILE, arm64, under qemu-user)"
ROOT="$WORK/rootfs"
rm -rf "$ROOT"
export REPO PROFILE CONFIG_TXT BUNDLE BUNDLE_VERSION PUBKEY DISK_ID WIFI_COUNTRY
old_ifs=$IFS; IFS='|'; set --
for mirror in $MIRRORS; do set -- "$@" "$mirror"; done
IFS=$old_ifs
mmdebstrap --mode=root --arch=arm64 --variant=minbase --components="$COMPONENTS" \
    --include="$packages" \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --customize-hook="sh '$HERE/customize.sh' \"\$1\"" \
    "$SUITE" "$ROOT" "$@"

if [ "$ROOTFS_ONLY" = 1 ]; then
    step "root filesystem ready in $ROOT"
    exit 0
fi

step "partitions and image (genimage)"
IMAGE="scc-$BUNDLE_VERSION-$PROFILE-arm64.img"
sed "s/@DISK_ID@/$DISK_ID/; s/@IMAGE@/$IMAGE/" "$HERE/genimage.cfg" > "$WORK/genimage.cfg"
rm -rf "$WORK/genimage-tmp"
genimage --config "$WORK/genimage.cfg" --rootpath "$ROOT" --tmppath "$WORK/genimage-tmp" \
    --inputpath "$WORK" --outputpath "$OUT"
(cd "$OUT" && sha256sum "$IMAGE" > "$IMAGE.sha256" && xz -T0 -k -f -3 "$IMAGE" \
    && sha256sum "$IMAGE.xz" > "$IMAGE.xz.sha256")
step "done: $OUT/$IMAGE (+ .sha256, .xz)"
