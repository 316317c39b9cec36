#!/bin/sh
# Regenerates the PTX embedded by package gpu from the CUDA sources in
# gpu/cuda/ (run by `go generate ./gpu`; needs nvcc, CUDA 11.8 as in Debian's
# nvidia-cuda-toolkit, whose output is byte-for-byte reproducible, which CI
# and TestPTXUpToDate check). An argument names another output directory.
#
# Each gpu/cuda/NAME.cu becomes NAME.sm70.ptx (PTX for compute_70: Volta and
# everything newer, through the driver's JIT), except the tensor-core files
# gpu/cuda/*_tc.cu, which become NAME.sm80.ptx (compute_80: Ampere and newer).
# The numeric suffix is what gpu.modulesFor compares with a device's compute
# capability.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}
NVCC=${NVCC:-nvcc}
rm -f "$out"/*.ptx
for src in "$here"/../cuda/*.cu; do
	name=$(basename "$src" .cu)
	case $name in
	*_tc) arch=80 ;;
	*) arch=70 ;;
	esac
	"$NVCC" -ptx -std=c++17 -O3 -arch=compute_$arch -o "$out/$name.sm$arch.ptx" "$src"
done
