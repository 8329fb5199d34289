#!/bin/sh
# mmdebstrap customize hook: turns the bootstrapped root ($1) into the appliance.
# Runs on the build machine; commands inside the arm64 root run under qemu-user (binfmt).
# Environment (from build.sh): REPO PROFILE CONFIG_TXT BUNDLE BUNDLE_VERSION PUBKEY DISK_ID
#                              WIFI_COUNTRY
set -eu
R="$1"
in_root() { chroot "$R" "$@"; }

# --- the service user and its device groups --------------------------------------------------
install -D -m 0644 "$REPO/systemd/sysusers.d/scc.conf" "$R/usr/lib/sysusers.d/scc.conf"
for group in spi i2c gpio; do
    in_root getent group "$group" >/dev/null || in_root groupadd --system "$group"
done
systemd-sysusers --root="$R" "$R/usr/lib/sysusers.d/scc.conf"
install -D -m 0644 "$REPO/image/files/99-scc-devices.rules" "$R/etc/udev/rules.d/99-scc-devices.rules"

# --- the release: /opt/scc is a symlink to the data partition, so updates can write there ----
# Host-side paths go through $R/data/opt-scc: the link's absolute target means the build
# machine's /data outside the chroot. Commands inside the root use /opt/scc as the device will.
D="$R/data/opt-scc"
mkdir -p "$D" "$R/data/scc" "$R/data/system-connections"
rm -rf "$R/opt/scc"
ln -s /data/opt-scc "$R/opt/scc"
release="/opt/scc/releases/$BUNDLE_VERSION"
host_release="$D/releases/$BUNDLE_VERSION"
mkdir -p "$host_release/wheels" "$D/bin"
tar -xf "$BUNDLE" -C "$host_release" --wildcards 'wheels/*'
tar -xf "$BUNDLE" -C "$host_release" manifest.json
in_root python3 -m venv --system-site-packages --without-pip "$release/venv"
app_wheel=$(cd "$host_release" && ls wheels/scc_appliance-*.whl)
in_root python3 -m pip --python "$release/venv/bin/python" install --no-index --no-cache-dir \
    --disable-pip-version-check --quiet --find-links "$release/wheels" "$release/$app_wheel"
in_root "$release/venv/bin/scc" --version
rm -rf "$host_release/wheels"
touch "$host_release/.complete"
ln -sfn "releases/$BUNDLE_VERSION" "$D/current"
install -m 0755 "$REPO/appliance/update/releases.py" "$D/bin/scc-guard"
install -D -m 0644 "$PUBKEY" "$R/etc/scc/update-keys/release.pub"
install -m 0755 "$REPO/image/files/scc-firstboot" "$D/bin/scc-firstboot"
mkdir -p "$R/usr/share/scc"
cp -r "$REPO/examples" "$R/usr/share/scc/examples"
in_root chown -R scc:scc /data/opt-scc /data/scc
chmod 0750 "$R/data/scc"
chmod 0700 "$R/data/system-connections"

# --- units and system configuration ----------------------------------------------------------
install -m 0644 "$REPO/systemd/scc.service" "$REPO/systemd/scc-firstboot.service" \
    "$R/etc/systemd/system/"
install -D -m 0644 "$REPO/systemd/system.conf.d/10-scc-watchdog.conf" \
    "$R/etc/systemd/system.conf.d/10-scc-watchdog.conf"
install -D -m 0644 "$REPO/systemd/journald.conf.d/10-scc.conf" \
    "$R/etc/systemd/journald.conf.d/10-scc.conf"
install -D -m 0644 "$REPO/systemd/polkit/50-scc.rules" "$R/etc/polkit-1/rules.d/50-scc.rules"
install -D -m 0644 "$REPO/image/files/sshd-scc.conf" "$R/etc/ssh/sshd_config.d/scc.conf"
install -D -m 0644 "$REPO/image/files/NetworkManager-scc.conf" \
    "$R/etc/NetworkManager/conf.d/scc.conf"
systemctl --root="$R" enable scc.service scc-firstboot.service NetworkManager.service \
    systemd-timesyncd.service
# SSH is off until first boot finds the request on the boot partition; rfkill state is not
# restored from the read-only root (first boot unblocks Wi-Fi once the country is known).
systemctl --root="$R" disable ssh.service 2>/dev/null || true
systemctl --root="$R" mask systemd-rfkill.service systemd-rfkill.socket
rm -f "$R"/etc/ssh/ssh_host_*
ln -sfn /run/NetworkManager/resolv.conf "$R/etc/resolv.conf"
echo scc > "$R/etc/hostname"
# An empty machine-id: systemd makes a transient one at boot on the read-only root.
: > "$R/etc/machine-id"

# --- read-only root ---------------------------------------------------------------------------
sed "s/@DISK_ID@/$DISK_ID/g" "$REPO/image/files/fstab" > "$R/etc/fstab"
mkdir -p "$R/data" "$R/boot/firmware"

# --- boot configuration -----------------------------------------------------------------------
cmdline="console=tty1 root=PARTUUID=$DISK_ID-02 rootfstype=ext4 ro fsck.repair=yes rootwait"
cmdline="$cmdline cfg80211.ieee80211_regdom=$WIFI_COUNTRY"
if [ -d "$R/boot/firmware" ] && [ -e "$R/boot/firmware/start4.elf" ]; then
    case "$PROFILE" in
    raspios)
        install -m 0644 "$REPO/image/$CONFIG_TXT" "$R/boot/firmware/config.txt"
        ;;
    debian)
        { echo; cat "$REPO/image/$CONFIG_TXT"; } >> "$R/boot/firmware/config.txt"
        ;;
    esac
    # No console on the P1 UART: only the screen.
    echo "$cmdline" > "$R/boot/firmware/cmdline.txt"
    overlay="$REPO/hardware/overlay/scc-hat-overlay.dts"
    if [ -e "$overlay" ] && command -v dtc >/dev/null; then
        mkdir -p "$R/boot/firmware/overlays"
        dtc -q -@ -I dts -O dtb -o "$R/boot/firmware/overlays/scc-hat.dtbo" "$overlay"
    fi
fi

# --- smaller image ----------------------------------------------------------------------------
rm -rf "$R/var/cache/apt/archives/"*.deb "$R/var/lib/apt/lists/"* "$R/usr/share/doc/"* \
    "$R/usr/share/man/"*
