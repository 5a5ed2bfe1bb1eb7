#!/usr/bin/env bash
# Installs the Debian packages smelt needs to build, test and run (`scripts/deps.sh fuzz` adds
# clang and its fuzzer runtime for `make fuzz`). Quick and silent when all are present; as root it
# installs what is missing with apt-get, otherwise it prints the exact apt-get line and fails.
set -euo pipefail

packages=(
  cmake make gcc pkg-config          # build
  llvm-19-dev                        # codegen: LLVM-C API, ORC JIT, object files
  libyaml-dev                        # frontend: presets and experiment configs
  libopenblas-dev                    # GEMM/convolution in generated code
  libcmocka-dev                      # unit tests
  libstb-dev libcjson-dev            # images, JSON
  libfreetype-dev fonts-dejavu-core  # synthetic CAPTCHA generator
  zlib1g-dev                         # PNG compression of generated images
  libopenmpi-dev openmpi-bin         # data-parallel training and sweeps over MPI ranks (mpirun)
)
[[ "${1:-}" == fuzz ]] && packages+=(clang-19 libclang-rt-19-dev)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

line="apt-get install -y --no-install-recommends ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  echo "smelt needs these Debian packages: ${missing[*]}" >&2
  echo "run as root:  apt-get update && $line" >&2
  exit 1
fi
echo "scripts/deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
