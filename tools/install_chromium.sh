#!/usr/bin/env bash
# Install Debian's chromium for the browser test. Needs root (or passwordless sudo) and apt.
set -u
command -v chromium >/dev/null 2>&1 && exit 0
command -v apt-get >/dev/null 2>&1 || { echo "browser test: no apt-get here, the browser test will be skipped"; exit 1; }
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo -n"
export DEBIAN_FRONTEND=noninteractive
( $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends chromium ) >/tmp/cs231n-chromium-install.log 2>&1 \
  || { echo "browser test: could not install chromium (see /tmp/cs231n-chromium-install.log); it will be skipped"; exit 1; }
