#!/bin/sh
# test/image.sh - the container image (deploy/image.sh) runs. Builds it into
# a temp dir (twice: the layout must be byte-for-byte reproducible), checks
# the OCI layout and the docker archives with skopeo, unpacks every
# architecture with umoci into a real root file system and runs the image's
# own binaries in it: `ingressd -V`, `ingressd -t` on the image's config,
# busybox `sh -c 'echo ok'` and `uname -m` - the arm64 and armv7 ones under
# qemu-user (a copy of qemu-*-static in the throwaway root file system, or
# binfmt_misc when it is registered). Then amd64 serves: in a chroot with an
# unreachable API server, /ping answers OK to the image's busybox wget; and
# as the DaemonSet runs it (uid 65532, bounding set NET_BIND_SERVICE only,
# no_new_privs, the image's config, in a private network namespace) it binds
# :80, :443 and :8080 through its file capability - with the two controls
# that show why: no file capability, or no NET_BIND_SERVICE in the bounding
# set, and it cannot start. Needs root (setcap, chroot, network namespaces).
# Last line: "image: N passed, M failed".
cd "$(dirname "$0")/.." || exit 1
. test/lib.sh
suite image
VERSION=$(sed -n 's/^#define ING_VERSION "\(.*\)"$/\1/p' ingressd.h)

if [ "$(id -u)" -ne 0 ]; then
	echo "image: skipped: needs root (setcap in deploy/image.sh, chroot, unshare -n)"
	finish
	exit 0
fi
for t in umoci skopeo jq unshare chroot setcap getcap; do
	command -v $t >/dev/null || fail "$t is installed (make deps)"
done
[ "$T_FAIL" -eq 0 ] || { finish; exit 1; }

# ---- build, twice (a binary older than the sources is made again, so
# the image tested is this tree's; deploy/image.sh builds what is missing)
for bin in build/x86_64/ingressd build/aarch64/ingressd build/armhf/ingressd; do
	[ -n "$(find ingressd.c ingressd.h port dashboard -newer "$bin" -type f 2>/dev/null | head -n 1)" ] && rm -f "$bin"
done
IMG=$T_TMP/img
L=$IMG/ingressd-oci
if IMAGE_OUT=$IMG sh deploy/image.sh >"$T_TMP/build.log" 2>&1; then
	ok "deploy/image.sh builds the image"
	sed -n '/^image: /,$p' "$T_TMP/build.log"
else
	fail "deploy/image.sh builds the image"
	tail -n 20 "$T_TMP/build.log"
	finish
	exit 1
fi
if IMAGE_OUT=$T_TMP/img2 DOCKER_ARCHIVE=0 sh deploy/image.sh >"$T_TMP/build2.log" 2>&1 &&
	cmp -s "$L/index.json" "$T_TMP/img2/ingressd-oci/index.json"; then
	ok "a second build is byte-for-byte the same (index.json names every blob by digest)"
else
	fail "reproducible build: $(diff "$L/index.json" "$T_TMP/img2/ingressd-oci/index.json" | head -c 300)"
fi
rm -rf "$T_TMP/img2"

# ---- the OCI layout
plats=$(skopeo inspect --raw "oci:$L:$VERSION" | jq -r '.manifests[].platform | [.os, .architecture, .variant // empty] | join("/")' | tr '\n' ' ')
[ "$plats" = "linux/amd64 linux/arm64/v8 linux/arm/v7 " ] && ok "tag $VERSION: a multi-arch index of linux/amd64, arm64, arm/v7" ||
	fail "multi-arch index platforms: $plats"
tags=$(jq -r '.manifests[].annotations["org.opencontainers.image.ref.name"]' "$L/index.json" | tr '\n' ' ')
[ "$tags" = "$VERSION-amd64 $VERSION-arm64 $VERSION-armv7 $VERSION " ] && ok "tags: $tags" || fail "tags: $tags"
check "skopeo copies every platform of the index (all digests and sizes check out)" \
	skopeo copy --quiet --all "oci:$L:$VERSION" "oci:$T_TMP/copy:$VERSION"
rm -rf "$T_TMP/copy"
cfg=$(skopeo inspect --config "oci:$L:$VERSION-amd64")
c() { echo "$cfg" | jq -c "$1"; }
[ "$(c .config.Entrypoint)" = '["/usr/sbin/ingressd","-c","/etc/ingressd/ingressd.conf"]' ] && ok "Entrypoint" || fail "Entrypoint $(c .config.Entrypoint)"
[ "$(c .config.User)" = '"65532:65532"' ] && ok "User 65532:65532" || fail "User $(c .config.User)"
[ "$(c '.config.ExposedPorts | keys')" = '["443/tcp","80/tcp","8080/tcp"]' ] && ok "ExposedPorts 80, 443, 8080" ||
	fail "ExposedPorts $(c .config.ExposedPorts)"
[ "$(c '.config.Labels["org.opencontainers.image.version"]')" = "\"$VERSION\"" ] &&
	[ "$(c '.config.Labels | keys | map(select(startswith("org.opencontainers.image."))) | length')" -ge 5 ] &&
	ok "org.opencontainers.image.* labels" || fail "labels $(c .config.Labels)"

# ---- the docker archives
for tag in amd64 arm64 armv7; do
	f=$IMG/ingressd-$tag.tar
	want=$tag
	[ $tag = armv7 ] && want=arm
	a=$(skopeo inspect "docker-archive:$f" 2>/dev/null | jq -r .Architecture)
	rt=$(tar -xOf "$f" manifest.json 2>/dev/null | jq -r '.[0].RepoTags[0]')
	[ "$a" = "$want" ] && [ "$rt" = "localhost/ingressd:$VERSION" ] && ok "docker archive $tag: $a, $rt" ||
		fail "docker archive $tag: architecture $a, tag $rt"
done

# ---- every architecture, unpacked and run
# run TAG ARGS...: a command inside the unpacked root file system, as root
# in a user namespace, under qemu-user for ARM ($QEMU). At most 20 s.
# (Not busybox wget -T: Debian's busybox 1.35 wget crashes with it.)
run() {
	r=$T_TMP/$1/rootfs
	shift
	timeout 20 unshare -r chroot "$r" $QEMU "$@"
}
for tag in amd64 arm64 armv7; do
	case $tag in
	amd64) mach=62 uname=x86_64 qemu= ;;
	arm64) mach=183 uname=aarch64 qemu=qemu-aarch64-static ;;
	armv7) mach=40 uname=armv7l qemu=qemu-arm-static ;;
	esac
	R=$T_TMP/$tag/rootfs
	if ! umoci unpack --image "$L:$VERSION-$tag" "$T_TMP/$tag" >"$T_TMP/unpack.log" 2>&1; then
		fail "$tag: umoci unpack"
		tail -n 5 "$T_TMP/unpack.log"
		continue
	fi
	ok "$tag: umoci unpacks $VERSION-$tag"
	bad=""
	for f in bin/busybox usr/sbin/ingressd etc/ingressd/ingressd.conf etc/passwd etc/group; do
		[ -f "$R/$f" ] || bad="$bad $f"
	done
	for f in bin/sh bin/ls bin/cat usr/bin/wget; do
		[ "$(readlink "$R/$f")" = /bin/busybox ] || bad="$bad $f"
	done
	[ "$(stat -c %a "$R/tmp")" = 1777 ] || bad="$bad tmp-mode"
	[ -z "$(find "$R" ! -user 0 -o ! -group 0 | head -n 1)" ] || bad="$bad not-root-owned"
	[ -z "$bad" ] && ok "$tag: layout: busybox and applets, ingressd, config, passwd, /tmp 1777, all root-owned" ||
		fail "$tag: layout:$bad"
	grep -q '^ingressd:x:65532:65532:' "$R/etc/passwd" && grep -q '^ingressd:x:65532:' "$R/etc/group" &&
		ok "$tag: user and group ingressd 65532" || fail "$tag: no ingressd 65532 in /etc/passwd or /etc/group"
	cmp -s "$R/etc/ingressd/ingressd.conf" deploy/ingressd.conf && ok "$tag: /etc/ingressd/ingressd.conf is deploy/ingressd.conf" ||
		fail "$tag: config differs from deploy/ingressd.conf"
	e1=$(od -An -tu2 -j18 -N2 "$R/usr/sbin/ingressd" | tr -d ' ')
	e2=$(od -An -tu2 -j18 -N2 "$R/bin/busybox" | tr -d ' ')
	[ "$e1" = $mach ] && [ "$e2" = $mach ] && ok "$tag: ELF machine $mach for ingressd and busybox" ||
		fail "$tag: ELF machine ingressd=$e1 busybox=$e2, want $mach"
	case $(getcap "$R/usr/sbin/ingressd") in
	*cap_net_bind_service=ep) ok "$tag: file capability cap_net_bind_service=ep survived the layer" ;;
	*) fail "$tag: file capability: '$(getcap "$R/usr/sbin/ingressd")'" ;;
	esac

	QEMU=
	if [ -n "$qemu" ]; then
		# binfmt_misc with the F flag runs foreign binaries in a chroot as they
		# are; otherwise the static qemu goes into the (throwaway) rootfs.
		bf=/proc/sys/fs/binfmt_misc/${qemu%-static}
		if [ -f "$bf" ] && grep -q '^enabled' "$bf" && grep -q '^flags:.*F' "$bf"; then
			echo "image: $tag: binfmt_misc runs $qemu"
		elif command -v "$qemu" >/dev/null; then
			cp "$(command -v "$qemu")" "$R/$qemu"
			QEMU=/$qemu
		else
			fail "$tag: $qemu not installed (make deps)"
			continue
		fi
	fi
	out=$(run $tag /usr/sbin/ingressd -V 2>&1)
	rc=$?
	[ $rc -eq 0 ] && echo "$out" | grep -q "^ingressd $VERSION " && echo "$out" | grep -q BearSSL &&
		ok "$tag: ingressd -V: $(echo "$out" | head -n 1)" || fail "$tag: -V (exit $rc): $(echo "$out" | head -n 2)"
	out=$(run $tag /usr/sbin/ingressd -t -c /etc/ingressd/ingressd.conf 2>&1)
	rc=$?
	[ $rc -eq 0 ] && echo "$out" | grep -q 'configuration ok' && ok "$tag: ingressd -t on the image's config" ||
		fail "$tag: -t (exit $rc): $out"
	printf '[entryPoints.http]\naddress = ":80"\nadress = ":81"\n' >"$R/tmp/bad.conf"
	out=$(run $tag /usr/sbin/ingressd -t -c /tmp/bad.conf 2>&1)
	rc=$?
	[ $rc -eq 1 ] && echo "$out" | grep -q '^/tmp/bad.conf:3: ' && ok "$tag: ingressd -t on a bad config: exit 1, FILE:LINE" ||
		fail "$tag: -t bad config (exit $rc): $out"
	out=$(run $tag /bin/sh -c 'echo ok' 2>&1)
	[ "$out" = ok ] && ok "$tag: busybox sh -c 'echo ok'" || fail "$tag: sh: $out"
	out=$(run $tag /bin/busybox uname -m 2>&1)
	[ "$out" = $uname ] && ok "$tag: busybox uname -m: $out" || fail "$tag: uname -m: $out (want $uname)"
	# (under qemu-user without binfmt_misc, sh cannot exec other applets:
	# run them one by one)
	out=$(run $tag /bin/ls /etc/ingressd 2>&1; run $tag /bin/cat /etc/passwd 2>&1 | grep -c :)
	[ "$(echo $out)" = "ingressd.conf 3" ] && ok "$tag: busybox ls, cat" || fail "$tag: ls/cat: $out"
done
QEMU=

# ---- amd64 serves /ping in its chroot while the API server is unreachable
R=$T_TMP/amd64/rootfs
HTTP=$(free_port)
WEB=$(free_port)
DEAD=$(free_port) # nothing listens here
cat >"$R/tmp/test.conf" <<EOF
[entryPoints.http]
address = "127.0.0.1:$HTTP"
[web]
address = "127.0.0.1:$WEB"
[kubernetes]
endpoint = "http://127.0.0.1:$DEAD"
EOF
unshare -r chroot "$R" /usr/sbin/ingressd -c /tmp/test.conf 2>"$T_TMP/chroot.log" &
IPID=$!
at_exit "kill $IPID"
if wait_port $WEB; then
	out=$(run amd64 /usr/bin/wget -q -O- "http://127.0.0.1:$WEB/ping" 2>&1)
	[ "$out" = OK ] && ok "chroot: the image's wget gets OK from /ping, API server unreachable" || fail "chroot: /ping: $out"
	out=$(run amd64 /usr/bin/wget -q -O- "http://127.0.0.1:$WEB/ready" 2>&1)
	echo "$out" | grep -q 503 && ok "chroot: /ready is 503 before the first sync" || fail "chroot: /ready: $out"
	out=$(run amd64 /usr/bin/wget -q -O- "http://127.0.0.1:$HTTP/" 2>&1)
	echo "$out" | grep -q 404 && ok "chroot: the entry point answers 404 with no routes" || fail "chroot: entry point: $out"
else
	fail "chroot: ingressd did not listen on :$WEB"
fi
kill -TERM $IPID 2>/dev/null
wait $IPID
rc=$?
[ $rc -eq 0 ] && ok "chroot: SIGTERM, exit 0" || fail "chroot: exit $rc: $(tail -n 3 "$T_TMP/chroot.log")"

# ---- amd64 as the DaemonSet runs it
# What runc does for runAsUser 65532, capabilities drop ALL + add
# NET_BIND_SERVICE, allowPrivilegeEscalation false: bounding, permitted and
# effective sets NET_BIND_SERVICE only, uid/gid 65532, no_new_privs, no
# ambient capabilities - then execve of the entrypoint. The image's config
# (:80, :443, :8080, in-cluster API), in a private network namespace, with a
# service-account directory where the kubelet mounts it.
if ! command -v capsh >/dev/null; then
	fail "capsh is installed (libcap2-bin) for the DaemonSet credential checks"
	finish
	exit 1
fi
SA=$R/var/run/secrets/kubernetes.io/serviceaccount
mkdir -p "$SA"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=test-ca -days 1 \
	-keyout "$T_TMP/ca.key" -out "$SA/ca.crt" >/dev/null 2>&1
echo test-token >"$SA/token"
cp "$R/usr/sbin/ingressd" "$R/usr/sbin/ingressd-nocap" # cp drops the xattr
last=$(cat /proc/sys/kernel/cap_last_cap)
ALL_BUT_NBS=$(capsh --decode="$(printf '%x' $(((1 << (last + 1)) - 1 - (1 << 10))))" | sed 's/^[^=]*=//')
ALL=$(capsh --decode="$(printf '%x' $(((1 << (last + 1)) - 1)))" | sed 's/^[^=]*=//')
cat >"$T_TMP/pod.sh" <<'EOF'
# pod.sh ROOTFS BINARY DROP: in a fresh network namespace, start BINARY the
# way runc starts a non-root container, probe it, stop it; print key=value.
R=$1 BIN=$2 DROP=$3
ip link set lo up
KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=6443 \
	capsh --chroot="$R" --drop="$DROP" --keep=1 --gid=65532 --groups=65532 --uid=65532 \
	--caps=cap_net_bind_service+ep --no-new-privs --shell="$BIN" -- -c /etc/ingressd/ingressd.conf &
P=$!
i=0
while [ $i -lt 50 ] && kill -0 $P 2>/dev/null; do
	timeout 2 chroot "$R" /usr/bin/wget -q -O /dev/null http://127.0.0.1:8080/ping 2>/dev/null && break
	sleep 0.1
	i=$((i + 1))
done
if kill -0 $P 2>/dev/null; then
	echo "status=$(grep -E '^(Uid|Gid|CapEff|CapPrm|CapBnd|CapAmb|NoNewPrivs):' /proc/$P/status | tr -s '\t ' ' ' | tr '\n' ';')"
	echo "ping=$(timeout 5 chroot "$R" /usr/bin/wget -q -O- http://127.0.0.1:8080/ping 2>&1)"
	echo "http=$(timeout 5 chroot "$R" /usr/bin/wget -q -O- http://127.0.0.1:80/ 2>&1)"
	echo "ready=$(timeout 5 chroot "$R" /usr/bin/wget -q -O- http://127.0.0.1:8080/ready 2>&1)"
	echo "listen=$(ss -Hltn | awk '{print $4}' | sort | tr '\n' ' ')"
	kill -TERM $P
fi
wait $P
echo "exit=$?"
EOF
# pod NAME BINARY DROP: runs pod.sh; its output in $T_TMP/NAME.out, log in NAME.log
pod() {
	unshare -n sh "$T_TMP/pod.sh" "$R" "$2" "$3" >"$T_TMP/$1.out" 2>"$T_TMP/$1.log"
}
val() { sed -n "s/^$2=//p" "$T_TMP/$1.out"; }
pod ds /usr/sbin/ingressd "$ALL_BUT_NBS"
st=$(val ds status)
case $st in
*"Uid: 65532 65532 65532 65532;"*"CapPrm: 0000000000000400;CapEff: 0000000000000400;CapBnd: 0000000000000400;CapAmb: 0000000000000000;NoNewPrivs: 1;"*)
	ok "DaemonSet credentials: uid 65532, only NET_BIND_SERVICE (effective from the file capability), no_new_privs" ;;
*) fail "DaemonSet credentials: $st" ;;
esac
[ "$(val ds ping)" = OK ] && ok "DaemonSet credentials: /ping on :8080 is OK" || fail "DaemonSet credentials: /ping: $(val ds ping)"
val ds http | grep -q 404 && ok "DaemonSet credentials: :80 bound and answering (404, no routes)" ||
	fail "DaemonSet credentials: :80: $(val ds http)"
l=" $(val ds listen) "
case $l in
*" *:80 "*) case $l in *" *:443 "*) case $l in *" *:8080 "*) l=ok ;; esac ;; esac ;;
esac
[ "$l" = ok ] && ok "DaemonSet credentials: listening on :80, :443, :8080" ||
	fail "DaemonSet credentials: listening on: $(val ds listen)"
val ds ready | grep -q 503 && ok "DaemonSet credentials: /ready is 503 (API server unreachable)" ||
	fail "DaemonSet credentials: /ready: $(val ds ready)"
[ "$(val ds exit)" = 0 ] && ok "DaemonSet credentials: SIGTERM, exit 0" || fail "DaemonSet credentials: exit $(val ds exit)"
grep -q 'listening on :80' "$T_TMP/ds.log" && ok "DaemonSet credentials: the log says it listens on :80" ||
	fail "DaemonSet credentials: log: $(head -n 5 "$T_TMP/ds.log")"

# control 1: the same without the file capability (what `capabilities.add`
# alone gives a non-root container): no port 80
pod nocap /usr/sbin/ingressd-nocap "$ALL_BUT_NBS"
[ "$(val nocap exit)" != 0 ] && grep -q ':80' "$T_TMP/nocap.log" && grep -qi 'permission denied' "$T_TMP/nocap.log" &&
	ok "control: without the file capability, binding :80 fails (exit $(val nocap exit)) and says why" ||
	fail "control without file capability: exit $(val nocap exit): $(head -n 5 "$T_TMP/nocap.log")"
# control 2: NET_BIND_SERVICE not in the bounding set (a DaemonSet without
# `add: [NET_BIND_SERVICE]`): the kernel refuses to exec the binary at all
pod nobnd /usr/sbin/ingressd "$ALL"
[ "$(val nobnd exit)" != 0 ] && ! grep -q 'starting' "$T_TMP/nobnd.log" &&
	ok "control: without NET_BIND_SERVICE in the bounding set, execve is refused (exit $(val nobnd exit))" ||
	fail "control without bounding NET_BIND_SERVICE: exit $(val nobnd exit): $(head -n 3 "$T_TMP/nobnd.log")"
finish
