#!/usr/bin/env bash
# `make fuzz`: the protobuf decoders (api/pbjson.h) under libFuzzer with ASan+UBSan
# (test/fuzz/pb_libfuzzer.c), seeded with the kube-apiserver fixtures of test/fixtures/pb.
# clang and libFuzzer (Debian: clang, libclang-rt-14-dev) are installed here on first use, not by
# hack/install-deps.sh: only fuzzing needs them. Without them (no apt), the built-in mutation
# fuzzer (test/api/pbjson_fuzz_test.c, gcc + ASan) runs instead.
# FUZZ_SECONDS (default 300) bounds the run; exit status 0 = no finding.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SECS=${FUZZ_SECONDS:-300}
OUT=build/fuzz
have_libfuzzer() {
  command -v clang >/dev/null 2>&1 && ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1
}
if ! have_libfuzzer && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "fuzz: installing clang and libFuzzer (apt-get)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends clang libclang-rt-14-dev >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends clang libclang-rt-14-dev >/dev/null 2>&1; } || true
fi
if ! have_libfuzzer; then
  echo "fuzz: no clang/libFuzzer; running the built-in mutation fuzzer for ${SECS}s" >&2
  make -s build/asan/test/api/pbjson_fuzz_test
  FUZZ_SECONDS=$SECS exec build/asan/test/api/pbjson_fuzz_test
fi
make -s build/gen/api/proto/k8s.pb-c.h
mkdir -p "$OUT/corpus" "$OUT/findings"
SRCS="test/fuzz/pb_libfuzzer.c api/pbjson.c api/pbkinds.c api/pbomit.c build/gen/api/proto/k8s.pb-c.c pkg/util/buf.c pkg/util/alloc.c pkg/util/timeutil.c"
# shellcheck disable=SC2086
if [ ! -x "$OUT/pb_libfuzzer" ] || [ -n "$(find $SRCS api/pbjson.h api/pbkinds.h -newer "$OUT/pb_libfuzzer" 2>/dev/null)" ]; then
  clang -std=gnu11 -g -O1 -D_GNU_SOURCE -I. -Ibuild/gen $(pkg-config --cflags jansson libprotobuf-c) \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
    -o "$OUT/pb_libfuzzer" $SRCS $(pkg-config --libs jansson libprotobuf-c)
fi
cp test/fixtures/pb/*.pb "$OUT/corpus/"
# the watch stream's frames as payloads of their own
python3 - "$OUT/corpus" test/fixtures/pb/watch.pb <<'PY'
import sys, struct
out, src = sys.argv[1:]
b = open(src, "rb").read(); i = n = 0
while i + 4 <= len(b):
    l = struct.unpack(">I", b[i:i + 4])[0]
    open("%s/watchframe%d" % (out, n), "wb").write(b[i + 4:i + 4 + l]); i += 4 + l; n += 1
PY
echo "fuzz: libFuzzer for ${SECS}s over $(ls "$OUT/corpus" | wc -l) inputs" >&2
exec "$OUT/pb_libfuzzer" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -print_final_stats=1 -artifact_prefix="$OUT/findings/" "$OUT/corpus"
