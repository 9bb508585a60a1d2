#!/usr/bin/env bash
# Install Debian's bubblewrap, the sandbox the grader runs each student's kernel in. Needs root
# (or passwordless sudo) and apt; where it cannot be installed, grading runs unsandboxed (and
# says so) and the sandbox tests are skipped.
set -u
command -v bwrap >/dev/null 2>&1 && exit 0
command -v apt-get >/dev/null 2>&1 || { echo "sandbox: no apt-get here; install bubblewrap yourself, or the sandbox tests will be skipped"; exit 1; }
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo -n"
export DEBIAN_FRONTEND=noninteractive
( $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends bubblewrap ) >/tmp/cs231n-bubblewrap-install.log 2>&1 \
  || { echo "sandbox: could not install bubblewrap (see /tmp/cs231n-bubblewrap-install.log); the sandbox tests will be skipped"; exit 1; }
