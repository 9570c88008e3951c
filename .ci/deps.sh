#!/bin/sh
# .ci/deps.sh - install every Debian package the build and the tests need
# (make deps). Idempotent: installs only what is missing. Retries apt,
# since a mirror sometimes fails one multiarch index.
set -u
[ "$(id -u)" -eq 0 ] || SUDO=sudo
SUDO=${SUDO:-}

PKGS="build-essential clang libbearssl-dev libmbedtls-dev libjsmn-dev musl-tools musl-dev
curl openssl python3 python3-yaml ca-certificates procps iproute2 jq libcap2-bin
nginx-light haproxy wrk apache2-utils prometheus umoci skopeo busybox-static golang-go nodejs chromium
gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf binutils-aarch64-linux-gnu binutils-arm-linux-gnueabihf
qemu-user-static
libbearssl-dev:arm64 libbearssl-dev:armhf musl-dev:arm64 musl-dev:armhf"

# Debian's kubectl (kubernetes-client) for test/e2e_kube.sh, unpacked under
# /var/tmp rather than installed: some images carry another package's
# /usr/bin/kubectl, which dpkg would refuse to overwrite.
KUBECTL_DIR=/var/tmp/kubernetes-client
kubectl_deb() {
	[ -x $KUBECTL_DIR/usr/bin/kubectl ] && return 0
	t=0
	until (cd /var/tmp && apt-get download -q kubernetes-client); do
		t=$((t + 1))
		[ $t -ge 4 ] && { echo "deps: apt-get download kubernetes-client failed" >&2; return 1; }
		sleep $((t * 5))
		$SUDO apt-get update -q || true
	done
	dpkg-deb -x /var/tmp/kubernetes-client_*.deb $KUBECTL_DIR && rm -f /var/tmp/kubernetes-client_*.deb
}

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "deps: all packages present"
	kubectl_deb || exit 1
	exit 0
fi
echo "deps: installing:$missing"
for a in arm64 armhf; do
	dpkg --print-foreign-architectures | grep -qx $a || $SUDO dpkg --add-architecture $a
done
tries=0
until $SUDO apt-get update -q; do
	tries=$((tries + 1))
	[ $tries -ge 5 ] && { echo "deps: apt-get update keeps failing; trying with what is cached" >&2; break; }
	sleep $((tries * 5))
done
tries=0
until DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing; do
	tries=$((tries + 1))
	[ $tries -ge 4 ] && { echo "deps: apt-get install failed" >&2; exit 1; }
	sleep $((tries * 5))
	$SUDO apt-get update -q || true
done
# Debian starts these services on install; the tests start their own.
for s in nginx haproxy prometheus prometheus-node-exporter; do
	command -v systemctl >/dev/null 2>&1 && $SUDO systemctl stop "$s" >/dev/null 2>&1
	$SUDO service "$s" stop >/dev/null 2>&1
done
kubectl_deb || exit 1
exit 0
