#!/bin/sh
# GPU check: builds the cuda test binaries and clusterd-gpu, and, on a
# machine with an NVIDIA GPU, runs the conformance suite (every check against
# the float64 reference of the kernels.Backend loops, the tf32 and KNN extras)
# and the benchmarks, and writes a markdown report.
#
#   bench/gpu/check.sh build          build into $BIN (default bench/out/gpu);
#                                     needs Go, nvcc's cuda.h and libcuda.so
#   bench/gpu/check.sh run [REPORT]   run the prebuilt binaries; REPORT
#                                     defaults to $OUT/gpu-check.md, or
#                                     bench/out/gpu-check.md without $OUT
#   bench/gpu/check.sh [REPORT]       both
#
# Run from anywhere in the repository; exits non-zero when the build, the
# device query or a test fails (the report is written either way). The
# binaries link glibc (≥ 2.34 when built on Debian 12) and libcuda.so.1; the
# GPU machine needs the working tree (the tests read gpu/ptx and gpu/cuda/)
# but no Go or CUDA toolkit. Each step is bounded by a 5-minute timeout.
#
# The grid includes W4 (1,000,000 × 128, k = 1,000: the large-collections
# issue's large collection), and BenchmarkKMeansW4 runs whole k-means fits
# of it on the device and on the CPU (seconds, objective, phases).
#
# Targets the report is read against (H100/H200): assign-fp32 ≥ 50
# %fp32-peak; assign-tf32 ≥ 3 x-fp32 with 0 labels≠fp32; run-tf32 < 1 s/run;
# assign-cpu x-slower-than-gpu ≥ 10. CLUSTERD_LLOYD_N shrinks the headline
# problem for smaller cards, CLUSTERD_GPU_DEVICE picks the device.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-$root/bench/out/gpu}
mode=all
case ${1:-} in
build | run) mode=$1; shift ;;
esac

build() {
	mkdir -p "$BIN" &&
		(cd "$root" &&
			go build -tags cuda -o "$BIN/clusterd-gpu" ./cmd/clusterd-gpu &&
			go test -tags cuda -c -o "$BIN/gpu.test" ./gpu &&
			go test -tags cuda -c -o "$BIN/bench.test" ./bench)
}

run() {
	report=${1:-${OUT:-$root/bench/out}/gpu-check.md}
	mkdir -p "$(dirname "$report")"
	log=$(mktemp -d)
	status=0
	"$BIN/clusterd-gpu" devices >"$log/devices" 2>&1 || status=1
	if [ $status -eq 0 ]; then
		(cd "$root/gpu" && "$BIN/gpu.test" -test.v -test.short -test.timeout 5m) >"$log/tests" 2>&1 || status=1
		(cd "$root/bench" && "$BIN/bench.test" -test.run '^$' -test.bench '^BenchmarkLloyd$' -test.benchtime 3x -test.timeout 5m) >"$log/lloyd" 2>&1 || status=1
		(cd "$root/bench" && "$BIN/bench.test" -test.run '^$' -test.bench '^BenchmarkGPU$' -test.benchtime 10x -test.timeout 5m) >"$log/grid" 2>&1 || status=1
		(cd "$root/bench" && "$BIN/bench.test" -test.run '^$' -test.bench '^BenchmarkKMeansW4$' -test.benchtime 1x -test.timeout 5m) >"$log/w4" 2>&1 || status=1
	fi
	{
		echo "# GPU check ($(date -u +%Y-%m-%dT%H:%MZ))"
		echo
		echo '```'
		cat "$log/devices"
		echo '```'
		if [ -f "$log/tests" ]; then
			echo
			echo "## Tests: $(grep -c -- '^--- PASS' "$log/tests") passed, $(grep -c -- '--- FAIL' "$log/tests") failed, $(grep -c -- '--- SKIP' "$log/tests") skipped"
			echo
			echo '```'
			grep -E -- '--- FAIL|^(FAIL|ok|PASS)|tf32:|peak|\.go:[0-9]+:' "$log/tests" | head -60
			echo '```'
			for f in lloyd grid w4; do
				echo
				echo "## $(sed -n 's/^Benchmark\([A-Za-z0-9]*\).*/\1/p' "$log/$f" | head -1) benchmarks"
				echo
				echo '| benchmark | runs | metrics |'
				echo '|---|---|---|'
				awk '/^Benchmark/ { m = ""; for (i = 3; i < NF; i += 2) if ($(i+1) != "ns/op") m = m sprintf("%s %s, ", $i, $(i+1)); sub(/, $/, "", m); printf "| %s | %s | %s |\n", $1, $2, m }' "$log/$f"
				grep -E '^(FAIL|--- FAIL|panic)|skipp' "$log/$f" | sed 's/^/    /'
			done
		fi
	} >"$report"
	echo "report: $report (logs in $log)"
	return $status
}

case $mode in
build) build ;;
run) run "$@" ;;
all) build && run "$@" ;;
esac
