#!/bin/bash -eu
# Builds every cargo-fuzz target with the sanitizer OSS-Fuzz asks for and ships each with its
# seed corpus (corpus/<target>/ plus regressions), dictionary and libFuzzer options.
cd "$SRC/zerortt"
cargo fuzz build -O
out_dir=fuzz/target/x86_64-unknown-linux-gnu/release
for target_path in fuzz/fuzz_targets/*.rs; do
  target=$(basename "$target_path" .rs)
  cp "$out_dir/$target" "$OUT/$target"
  if [ -d "corpus/$target" ]; then
    (cd "corpus/$target" && zip -q -r "$OUT/${target}_seed_corpus.zip" .)
  fi
  case "$target" in
    codec) dict=fuzz/dict/codec.dict ;;
    *) dict=fuzz/dict/records.dict ;;
  esac
  [ -f "$dict" ] && cp "$dict" "$OUT/$target.dict"
  # OSS-Fuzz finds the dictionary next to the binary: point the options at that copy.
  if [ -f "fuzz/options/$target.options" ]; then
    sed "s|^dict = .*|dict = $target.dict|" "fuzz/options/$target.options" > "$OUT/$target.options"
  fi
done
