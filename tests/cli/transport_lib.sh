# transport_lib.sh - helpers shared by the test-transport-*.sh tests.
# Source after lib.sh.

# make_chain N: images s0..s(N-1).img (4 MiB volume) and the chain
# c0.delta (a seed of s0) .. c(N-1).delta.
make_chain() {
  local n=$1 i
  truncate -s 4M s0.img
  head -c 1M /dev/urandom > r0 && write_at s0.img 0 $((1 << 20)) r0
  text_file 300000 seed > t0 && write_at s0.img $((2 << 20)) 300000 t0
  "$DDLOOP" create s0.img -o c0.delta -q
  for i in $(seq 1 $((n - 1))); do
    cp s$((i - 1)).img s$i.img
    head -c 65536 /dev/urandom > rnd && write_at s$i.img $((i * 300000)) 65536 rnd
    text_file 5000 "$i" > txt && write_at s$i.img $((i * 400000 + 512)) 5000 txt
    "$DDLOOP" create --base s$((i - 1)).img s$i.img -o c$i.delta -q
  done
}

# big_delta FILE MIB: a seed deltafile of about MIB MiB (random data).
big_delta() {
  truncate -s "$2M" big.img
  head -c "$2M" /dev/urandom | dd of=big.img conv=notrunc status=none
  "$DDLOOP" create big.img -o "$1" --level 0 -q
  rm -f big.img
}

# jget FILE EXPR: evaluates the Python expression EXPR on the JSON in FILE
# (bound to j) and prints the result.
jget() {
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# file_field FILE NAME FIELD: FIELD of the "files" element named NAME.
file_field() {
  jget "$1" "[f['$3'] for f in j['files'] if f['name'] == '$2'][0]"
}

size_of() { stat -c %s "$1"; }
