# Sourced by scripts/setup.sh: apt-get that waits (bounded) while another apt/dpkg holds the lock.
# APT_LOCK_WAIT_S (default 300) is how long to wait in all; the message says how to retry.

apt_with_lock_wait() {
  local wait_s="${APT_LOCK_WAIT_S:-300}" start=$SECONDS out
  while :; do
    if out=$(apt-get -o DPkg::Lock::Timeout=30 "$@" 2>&1); then
      return 0
    fi
    if ! grep -qiE "could not get lock|unable to lock|is another process using it|lock-frontend" <<<"$out"; then
      printf '%s\n' "$out" >&2
      return 1
    fi
    if (( SECONDS - start >= wait_s )); then
      printf '%s\n' "$out" >&2
      echo "setup: another apt/dpkg process (often unattended-upgrades) still holds the package lock after ${wait_s}s." >&2
      echo "setup: let it finish (see: ps aux | grep -E 'apt|dpkg'), then run the same command again;" \
           "APT_LOCK_WAIT_S=900 waits longer." >&2
      return 1
    fi
    echo "setup: waiting for another apt/dpkg process to release the package lock ($(( SECONDS - start ))s of ${wait_s}s) ..."
    sleep "${APT_LOCK_POLL_S:-10}"
  done
}
