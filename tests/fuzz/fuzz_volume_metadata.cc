// fuzz_volume_metadata - any bytes as a volume's manifest, a segment index
// or a head journal (snapcore/volume_format.h): never crashes, and what is
// accepted is within the volume. The first byte picks the parser; index and
// journal inputs then carry the volume UUID, segment and generation they
// are checked against (16 + 8 + 8 bytes), so seeds from real files pass.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "deltafile/io_memory.h"
#include "snapcore/head_journal.h"
#include "snapcore/segment_index.h"
#include "snapcore/volume.h"
#include "snapcore/volume_manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ddl;
  if (size < 1) return 0;
  uint8_t kind = data[0] % 4;
  data++, size--;
  MemEnv env;
  if (kind == 0 || kind == 3) {
    env.Put("v/manifest", std::vector<uint8_t>(data, data + size));
    auto m = vol::Manifest::Open(&env, "v", kind == 3);
    if (m.ok()) {
      const vol::VolumeState& st = (*m)->state();
      if (st.size == 0 || st.head_id == 0 || st.head_id >= st.next_id) __builtin_trap();
      if (kind == 3 && st.size <= (64u << 20)) {  // open it as a volume too
        env.Put("v/base", std::vector<uint8_t>(st.size));
        vol::OpenOptions o;
        o.allow_pending_revert = true;
        auto v = vol::Volume::Open(&env, "v", o);
        if (v.ok()) {
          uint8_t buf[4096];
          (void)(*v)->Read(0, buf, std::min<uint64_t>(sizeof buf, st.size));
        }
      }
    }
    return 0;
  }
  if (size < 32) return 0;
  Uuid u;
  std::memcpy(u.b, data, 16);
  uint64_t seg, gen;
  std::memcpy(&seg, data + 16, 8);
  std::memcpy(&gen, data + 24, 8);
  env.Put("f", std::vector<uint8_t>(data + 32, data + size));
  const uint64_t chunks = 1 << 20;
  if (kind == 1) {
    auto e = vol::ReadIndexFile(&env, "f", vol::IndexId{u, seg, gen, chunks});
    if (e.ok()) {
      for (size_t i = 0; i < e->size(); i++)
        if ((*e)[i].chunk >= chunks || (i > 0 && (*e)[i].chunk <= (*e)[i - 1].chunk)) __builtin_trap();
    }
  } else {
    std::vector<vol::JournalEntry> entries;
    bool clean;
    auto j = vol::HeadJournal::Open(&env, "f", u, seg, chunks, true, &entries, &clean);
    if (j.ok())
      for (const auto& e : entries)
        if (e.chunk >= chunks) __builtin_trap();
  }
  return 0;
}
