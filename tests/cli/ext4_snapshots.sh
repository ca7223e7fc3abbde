# ext4_snapshots.sh - make snap0.img .. snap5.img in the current directory:
# a real ext4 filesystem through five changes (a file created, a file
# appended, a file renamed, a file deleted, a large file overwritten in the
# middle). Source after lib.sh; needs mkfs.ext4 and debugfs.
# Usage: make_ext4_snapshots SIZE_BYTES
make_ext4_snapshots() {
  local size=$1 n
  mkdir -p src && for i in 1 2 3 4; do text_file 200000 "$i" > src/doc$i.txt; done
  head -c $((4 << 20)) /dev/urandom > src/big.bin
  truncate -s "$size" snap0.img
  mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 -d src snap0.img
  for n in 1 2 3 4 5; do
    cp snap$((n - 1)).img snap$n.img
    case $n in
      1) text_file 300000 new > f && dbg "write f created.txt" snap1.img ;;
      2) cat src/doc1.txt > f && text_file 50000 more >> f && dbg "rm doc1.txt" snap2.img && dbg "write f doc1.txt" snap2.img ;;
      3) dbg "ln doc2.txt renamed.txt" snap3.img && dbg "unlink doc2.txt" snap3.img ;;
      4) dbg "rm doc3.txt" snap4.img ;;
      5) cp src/big.bin f && head -c 300000 /dev/urandom | dd of=f bs=1 seek=2000000 conv=notrunc status=none &&
         dbg "rm big.bin" snap5.img && dbg "write f big.bin" snap5.img ;;
    esac
  done
}
dbg() { debugfs -w -R "$1" "$2" >/dev/null 2>&1; }
