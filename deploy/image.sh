#!/bin/sh
# deploy/image.sh - the ingressd container image, without a Docker engine.
#
#   sh deploy/image.sh            (as root: see "File capability" below)
#
# Builds a busybox-based OCI image for linux/amd64, linux/arm64 and
# linux/arm/v7 from the static binaries (build/x86_64, build/aarch64,
# build/armhf; each is made with `make static` / `make cross` when missing)
# and Debian's busybox-static for the same architecture. The OCI image
# layout is written by hand - plain tar + gzip + sha256 as the OCI image
# spec describes - so the result is byte-for-byte reproducible: every file
# is owned by root, has mtime SOURCE_DATE_EPOCH (default: the time of the
# last git commit), and the tar and gzip streams carry no host data.
#
# Output (under $IMAGE_OUT, default build/image):
#   ingressd-oci/            OCI image layout: one index.json whose tags are
#                            VERSION-amd64, VERSION-arm64, VERSION-armv7 (one
#                            image each) and VERSION (the multi-arch index)
#   ingressd-<tag>.tar       docker-archive per architecture, image name
#                            $IMAGE_REPO:VERSION (default localhost/ingressd),
#                            for `docker load`, `ctr -n k8s.io images import`,
#                            or k3s's /var/lib/rancher/k3s/agent/images/
# To push the multi-arch image to a registry:
#   skopeo copy --all oci:build/image/ingressd-oci:0.1.0 docker://REGISTRY/ingressd:0.1.0
#
# Root filesystem of each image:
#   /bin/busybox + a symlink for every applet (sh, ls, cat, wget, ...)
#   /usr/sbin/ingressd              with file capability cap_net_bind_service=ep
#   /etc/ingressd/ingressd.conf     deploy/ingressd.conf (:80, :443, admin :8080,
#                                   in-cluster API settings, logLevel INFO)
#   /etc/passwd, /etc/group         root, ingressd (65532), nobody
#   /tmp (1777), /usr/share/doc/busybox-static/copyright (busybox is GPL-2)
# Config: Entrypoint ["/usr/sbin/ingressd","-c","/etc/ingressd/ingressd.conf"],
# User 65532:65532, ports 80/tcp 443/tcp 8080/tcp, org.opencontainers.image.*
# labels.
#
# File capability: the image runs as uid 65532. A non-root process gets a
# capability Kubernetes "adds" only through the executable's file
# capability (Kubernetes sets no ambient capabilities: kubernetes/kubernetes
# issue 56374), so /usr/sbin/ingressd carries security.capability =
# cap_net_bind_service+ep in the layer (a PAX SCHILY.xattr record, which
# containerd, Docker and umoci restore). Setting it needs root (CAP_SETFCAP).
# Why, and what the kernel does with it: deploy/k8s/daemonset.yaml.
#
# Environment: ARCHES ("amd64 arm64 armv7"), IMAGE_OUT (build/image),
# IMAGE_REPO (localhost/ingressd), VERSION (from ingressd.h),
# SOURCE_DATE_EPOCH, DOCKER_ARCHIVE (1; 0 skips the skopeo step),
# DEB_CACHE (build/debs: busybox-static_*_<arch>.deb, fetched with
# `apt-get download` when missing).
set -eu
cd "$(dirname "$0")/.."
export LC_ALL=C TZ=UTC

ARCHES=${ARCHES:-"amd64 arm64 armv7"}
OUT=${IMAGE_OUT:-build/image}
REPO=${IMAGE_REPO:-localhost/ingressd}
DEB_CACHE=${DEB_CACHE:-build/debs}
DOCKER_ARCHIVE=${DOCKER_ARCHIVE:-1}
VERSION=${VERSION:-$(sed -n 's/^#define ING_VERSION "\(.*\)"$/\1/p' ingressd.h)}
[ -n "$VERSION" ] || { echo "image.sh: no ING_VERSION in ingressd.h" >&2; exit 1; }
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || echo 0)
fi
CREATED=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)
if [ "$REVISION" != unknown ] && [ -n "$(git status --porcelain -- ingressd.c ingressd.h port deploy/ingressd.conf 2>/dev/null)" ]; then
	REVISION="$REVISION-dirty"
fi

die() { echo "image.sh: $*" >&2; exit 1; }
for t in tar gzip sha256sum setcap getcap dpkg-deb; do
	command -v $t >/dev/null || die "$t not found (apt-get install tar gzip coreutils libcap2-bin dpkg)"
done
[ "$DOCKER_ARCHIVE" = 0 ] || command -v skopeo >/dev/null || die "skopeo not found (apt-get install skopeo)"

# arch tag -> OCI architecture, variant, build dir, toolchain, Debian arch, qemu
arch_info() {
	case $1 in
	amd64) set -- amd64 "" x86_64 port/toolchain/x86_64-linux-musl.mk amd64 "" ;;
	arm64) set -- arm64 v8 aarch64 port/toolchain/aarch64-linux-gnu.mk arm64 qemu-aarch64-static ;;
	armv7) set -- arm v7 armhf port/toolchain/arm-linux-gnueabihf.mk armhf qemu-arm-static ;;
	*) die "unknown arch \"$1\" (amd64, arm64, armv7)" ;;
	esac
	A_ARCH=$1 A_VARIANT=$2 A_BUILD=$3 A_TOOLCHAIN=$4 A_DEB=$5 A_QEMU=$6
}

# sha256 and size of a file
sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { wc -c <"$1" | tr -d ' '; }
# Moves FILE into the blob store; prints "DIGEST SIZE".
blob() {
	d=$(sha "$1")
	s=$(size "$1")
	mv "$1" "$LAYOUT/blobs/sha256/$d"
	echo "$d $s"
}
platform_json() { # arch variant
	if [ -n "$2" ]; then
		printf '{"architecture":"%s","os":"linux","variant":"%s"}' "$1" "$2"
	else
		printf '{"architecture":"%s","os":"linux"}' "$1"
	fi
}

LAYOUT=$OUT/ingressd-oci
WORK=$OUT/work
rm -rf "$LAYOUT" "$WORK"
mkdir -p "$LAYOUT/blobs/sha256" "$WORK" "$DEB_CACHE"
printf '{"imageLayoutVersion":"1.0.0"}' >"$LAYOUT/oci-layout"

INDEX_ENTRIES=""   # descriptors for index.json (one per arch tag)
MULTI_ENTRIES=""   # the same, for the multi-arch image index
SUMMARY=""
for tag in $ARCHES; do
	arch_info "$tag"
	bin=build/$A_BUILD/ingressd
	if [ ! -x "$bin" ]; then
		echo "image.sh: $bin missing; building it"
		if [ "$tag" = amd64 ]; then make static >&2; else make cross TOOLCHAIN="$A_TOOLCHAIN" >&2; fi
	elif [ -n "$(find ingressd.c ingressd.h port -newer "$bin" -name '*.[ch]' 2>/dev/null | head -n 1)" ]; then
		echo "image.sh: note: $bin is older than the sources (rm it, or make it, to rebuild)" >&2
	fi
	[ -x "$bin" ] || die "$bin was not built"

	# busybox-static for this architecture, from Debian (verified by apt)
	deb=$(ls "$DEB_CACHE"/busybox-static_*_"$A_DEB".deb 2>/dev/null | sort -V | tail -n 1 || true)
	if [ -z "$deb" ]; then
		echo "image.sh: fetching busybox-static:$A_DEB into $DEB_CACHE"
		(cd "$DEB_CACHE" && apt-get download -q -o APT::Sandbox::User=root "busybox-static:$A_DEB" >&2) ||
			die "apt-get download busybox-static:$A_DEB failed (for a foreign arch: dpkg --add-architecture $A_DEB && apt-get update)"
		deb=$(ls "$DEB_CACHE"/busybox-static_*_"$A_DEB".deb | sort -V | tail -n 1)
	fi
	bbver=$(dpkg-deb -f "$deb" Version)
	[ "$(dpkg-deb -f "$deb" Architecture)" = "$A_DEB" ] || die "$deb is not for $A_DEB"
	mkdir -p "$WORK/$tag/deb"
	dpkg-deb -x "$deb" "$WORK/$tag/deb"

	# ---- the root filesystem
	R=$WORK/$tag/rootfs
	mkdir -p "$R/bin" "$R/sbin" "$R/usr/bin" "$R/usr/sbin" "$R/etc/ingressd" "$R/tmp" \
		"$R/usr/share/doc/busybox-static"
	chmod 755 "$R" "$R/bin" "$R/sbin" "$R/usr" "$R/usr/bin" "$R/usr/sbin" "$R/etc" "$R/etc/ingressd"
	chmod 1777 "$R/tmp"
	install -m 755 "$WORK/$tag/deb/bin/busybox" "$R/bin/busybox"
	install -m 644 "$WORK/$tag/deb/usr/share/doc/busybox-static/copyright" \
		"$R/usr/share/doc/busybox-static/copyright"
	# The applet list from this busybox itself (under qemu-user for ARM; the
	# amd64 one of the same Debian version has the same list otherwise).
	if [ -z "$A_QEMU" ]; then
		applets=$("$R/bin/busybox" --list-full)
	elif command -v "$A_QEMU" >/dev/null; then
		applets=$("$A_QEMU" "$R/bin/busybox" --list-full)
	else
		echo "image.sh: $A_QEMU not found; using the host busybox's applet list" >&2
		applets=$(busybox --list-full)
	fi
	n_applets=0
	set -f # names like "[" and "[["
	for a in $applets; do
		case $a in bin/busybox | linuxrc | */ | "") continue ;; esac
		mkdir -p "$R/$(dirname "$a")"
		ln -sf /bin/busybox "$R/$a"
		n_applets=$((n_applets + 1))
	done
	set +f
	[ -L "$R/bin/sh" ] && [ -L "$R/usr/bin/wget" ] || die "busybox has no sh or wget applet"
	install -m 755 "$bin" "$R/usr/sbin/ingressd"
	setcap cap_net_bind_service=+ep "$R/usr/sbin/ingressd" ||
		die "setcap on $R/usr/sbin/ingressd failed: run as root on a file system with xattrs"
	install -m 644 deploy/ingressd.conf "$R/etc/ingressd/ingressd.conf"
	cat >"$R/etc/passwd" <<-'EOF'
		root:x:0:0:root:/root:/bin/sh
		ingressd:x:65532:65532:ingressd:/nonexistent:/bin/false
		nobody:x:65534:65534:nobody:/nonexistent:/bin/false
	EOF
	cat >"$R/etc/group" <<-'EOF'
		root:x:0:
		ingressd:x:65532:
		nogroup:x:65534:
	EOF
	chmod 644 "$R/etc/passwd" "$R/etc/group"

	# ---- the layer: sorted, root-owned, fixed mtimes, no atime/ctime, pax
	# header names without the pid, only the security.capability xattr
	(cd "$R" && tar --create --file=../layer.tar --format=posix --sort=name --numeric-owner \
		--owner=0 --group=0 --mtime="@$SOURCE_DATE_EPOCH" \
		--pax-option='exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime' \
		--xattrs --xattrs-include=security.capability ./*)
	grep -qa 'SCHILY.xattr.security.capability=' "$WORK/$tag/layer.tar" ||
		die "the layer has no file capability record for /usr/sbin/ingressd"
	diff_id=$(sha "$WORK/$tag/layer.tar")
	usize=$(size "$WORK/$tag/layer.tar")
	gzip -9 -n -c "$WORK/$tag/layer.tar" >"$WORK/$tag/layer.tar.gz"
	set -- $(blob "$WORK/$tag/layer.tar.gz")
	layer_digest=$1 layer_size=$2

	# ---- image config
	platform=$(platform_json "$A_ARCH" "$A_VARIANT")
	variant_field=""
	[ -n "$A_VARIANT" ] && variant_field=",\"variant\":\"$A_VARIANT\""
	cat >"$WORK/$tag/config.json" <<-EOF
		{"created":"$CREATED","architecture":"$A_ARCH"$variant_field,"os":"linux","config":{"User":"65532:65532","ExposedPorts":{"80/tcp":{},"443/tcp":{},"8080/tcp":{}},"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],"Entrypoint":["/usr/sbin/ingressd","-c","/etc/ingressd/ingressd.conf"],"WorkingDir":"/","StopSignal":"SIGTERM","Labels":{"org.opencontainers.image.title":"ingressd","org.opencontainers.image.description":"Kubernetes Ingress controller and reverse proxy in one static C binary (BearSSL), on busybox $bbver from Debian","org.opencontainers.image.version":"$VERSION","org.opencontainers.image.revision":"$REVISION","org.opencontainers.image.created":"$CREATED","org.opencontainers.image.ref.name":"$VERSION"}},"rootfs":{"type":"layers","diff_ids":["sha256:$diff_id"]},"history":[{"created":"$CREATED","created_by":"deploy/image.sh: busybox-static $bbver ($A_DEB), ingressd $VERSION, /etc/ingressd/ingressd.conf"}]}
	EOF
	set -- $(blob "$WORK/$tag/config.json")
	config_digest=$1 config_size=$2

	# ---- image manifest
	cat >"$WORK/$tag/manifest.json" <<-EOF
		{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:$config_digest","size":$config_size},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:$layer_digest","size":$layer_size}],"annotations":{"org.opencontainers.image.version":"$VERSION","org.opencontainers.image.revision":"$REVISION","org.opencontainers.image.created":"$CREATED"}}
	EOF
	set -- $(blob "$WORK/$tag/manifest.json")
	desc="{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:$1\",\"size\":$2,\"platform\":$platform"
	INDEX_ENTRIES="$INDEX_ENTRIES${INDEX_ENTRIES:+,}$desc,\"annotations\":{\"org.opencontainers.image.ref.name\":\"$VERSION-$tag\"}}"
	MULTI_ENTRIES="$MULTI_ENTRIES${MULTI_ENTRIES:+,}$desc}"
	SUMMARY="$SUMMARY$tag $(size "$bin") $usize $layer_size $n_applets $bbver
"
done

# ---- the multi-arch image index, and the layout's index.json
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s],"annotations":{"org.opencontainers.image.version":"%s","org.opencontainers.image.created":"%s"}}\n' \
	"$MULTI_ENTRIES" "$VERSION" "$CREATED" >"$WORK/index.json"
set -- $(blob "$WORK/index.json")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s,{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}\n' \
	"$INDEX_ENTRIES" "$1" "$2" "$VERSION" >"$LAYOUT/index.json"
MULTI_DIGEST=$1

# ---- docker-archive tarballs (docker load / ctr import / k3s images dir)
if [ "$DOCKER_ARCHIVE" != 0 ]; then
	for tag in $ARCHES; do
		rm -f "$OUT/ingressd-$tag.tar"
		skopeo copy --quiet "oci:$LAYOUT:$VERSION-$tag" "docker-archive:$OUT/ingressd-$tag.tar:$REPO:$VERSION" >&2 ||
			die "skopeo copy to $OUT/ingressd-$tag.tar failed"
	done
fi
rm -rf "$WORK"

# ---- sizes
echo "image: ingressd $VERSION, multi-arch index sha256:$MULTI_DIGEST (tag $VERSION) in $LAYOUT"
printf '%-6s %10s %12s %12s %12s  %s\n' arch binary layer layer.gz docker.tar busybox
echo "$SUMMARY" | while read -r tag bsize usize gsize napp bbver; do
	[ -n "$tag" ] || continue
	dsize=-
	[ -f "$OUT/ingressd-$tag.tar" ] && dsize=$(size "$OUT/ingressd-$tag.tar")
	printf '%-6s %10s %12s %12s %12s  %s (%s applets)\n' "$tag" "$bsize" "$usize" "$gsize" "$dsize" "$bbver" "$napp"
done
echo "(bytes; layer = the uncompressed root file system, layer.gz = what a node downloads)"
