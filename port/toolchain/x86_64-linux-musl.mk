# Static x86_64 build with musl (make static).
# Packages: musl-tools libbearssl-dev.
ARCH     = x86_64
TRIPLET  = x86_64-linux-gnu
XCC      = musl-gcc
XSTRIP   = strip
XOBJCOPY = objcopy
XSIZE    = size
QEMU     =
