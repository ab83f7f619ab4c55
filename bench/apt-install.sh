# Sourced by the benchmarks: `apt_install LABEL PACKAGE...` installs Debian packages quietly,
# as root or through sudo. Server packages (nginx, tinyproxy) start their system service on
# install unless invoke-rc.d is told not to; that is held off for the install when the machine
# has no policy of its own.
apt_install() {
  local label=$1; shift
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "$label: installing $*" >&2
  local policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    $sudo sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d'
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  [ -z "$policy" ] || $sudo rm -f "$policy"
}
