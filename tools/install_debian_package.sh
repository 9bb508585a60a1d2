#!/usr/bin/env bash
# install_debian_package.sh PACKAGE COMMAND WHAT: install Debian's PACKAGE (which provides
# COMMAND) with apt, for WHAT (the tests that need it). Needs root (or passwordless sudo) and
# apt; where it cannot be installed, it says so and WHAT is skipped. Used by `make
# browser-deps` (chromium) and `make sandbox-deps` (bubblewrap: without it grading runs
# unsandboxed, and says so).
set -u
PACKAGE=$1 COMMAND=$2 WHAT=$3
command -v "$COMMAND" >/dev/null 2>&1 && exit 0
command -v apt-get >/dev/null 2>&1 || { echo "$WHAT: no apt-get here; install $PACKAGE yourself, or $WHAT will be skipped"; exit 1; }
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo -n"
export DEBIAN_FRONTEND=noninteractive
LOG=/tmp/cs231n-$PACKAGE-install.log
( $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends "$PACKAGE" ) >"$LOG" 2>&1 \
  || { echo "$WHAT: could not install $PACKAGE (see $LOG); $WHAT will be skipped"; exit 1; }
