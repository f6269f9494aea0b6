#!/bin/sh
# Install the Debian 12 packages a target needs, only when missing.
# usage: mk/deps.sh build|package|test|all
set -eu
build="make gcc libc6-dev libxen-dev libseccomp-dev liburing-dev pkg-config"
# strace: the seccomp rule-coverage run; mount: losetup for the in-use block device test;
# llvm-14: llvm-profdata and llvm-cov for make coverage; frama-c-base: EVA for make prove
test="clang libclang-rt-14-dev llvm-14 libcmocka-dev strace mount frama-c-base"
# debhelper and lintian: make package (dpkg-buildpackage, lintian, dpkg -i)
package="debhelper lintian dpkg-dev man-db"
case "${1:-all}" in
build) want=$build ;;
package) want="$build $package" ;;
test | all) want="$build $test $package" ;;
*) echo "usage: $0 build|package|test|all" >&2; exit 2 ;;
esac
missing=""
for p in $want; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
if [ "$(id -u)" != 0 ]; then
    echo "need root to install:$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
