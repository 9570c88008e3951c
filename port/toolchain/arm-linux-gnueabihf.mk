# Static armv7 (hard float) build with Debian's cross gcc and multiarch musl:
#   make cross TOOLCHAIN=port/toolchain/arm-linux-gnueabihf.mk
# Packages: gcc-arm-linux-gnueabihf musl-dev:armhf libbearssl-dev:armhf
# qemu-user-static (make deps installs them).
ARCH     = armhf
TRIPLET  = arm-linux-gnueabihf
XCC      = arm-linux-gnueabihf-gcc -specs /usr/lib/arm-linux-musleabihf/musl-gcc.specs
XSTRIP   = arm-linux-gnueabihf-strip
XOBJCOPY = arm-linux-gnueabihf-objcopy
XSIZE    = arm-linux-gnueabihf-size
QEMU     = qemu-arm-static
