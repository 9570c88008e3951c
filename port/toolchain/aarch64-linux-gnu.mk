# Static aarch64 build with Debian's cross gcc and multiarch musl:
#   make cross TOOLCHAIN=port/toolchain/aarch64-linux-gnu.mk
# Packages: gcc-aarch64-linux-gnu musl-dev:arm64 libbearssl-dev:arm64
# qemu-user-static (make deps installs them).
ARCH     = aarch64
TRIPLET  = aarch64-linux-gnu
XCC      = aarch64-linux-gnu-gcc -specs /usr/lib/aarch64-linux-musl/musl-gcc.specs
XSTRIP   = aarch64-linux-gnu-strip
XOBJCOPY = aarch64-linux-gnu-objcopy
XSIZE    = aarch64-linux-gnu-size
QEMU     = qemu-aarch64-static
