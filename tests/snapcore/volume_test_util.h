// volume_test_util.h - helpers shared by the volume tests: a model image,
// fingerprints of byte vectors, reading a volume or snapshot whole.
#pragma once

#include <gtest/gtest.h>

#include "snapcore/snapshot_view.h"
#include "snapcore/volume.h"
#include "tests/test_util.h"

namespace ddl::test {

inline Fingerprint FingerprintOf(const Bytes& img, uint32_t shift) {
  Fingerprint fp;
  uint64_t cs = uint64_t(1) << shift;
  for (uint64_t off = 0; off < img.size(); off += cs) {
    size_t len = size_t(std::min<uint64_t>(cs, img.size() - off));
    fp.Add(off >> shift, HashChunk(img.data() + off, len));
  }
  return fp;
}

inline Bytes ReadLive(vol::Volume* v) {
  Bytes b(v->size());
  Status s = v->Read(0, b.data(), b.size());
  EXPECT_TRUE(s.ok()) << s.message();
  return b;
}

inline Result<Bytes> ReadSnapshot(Env* env, const std::string& dir, const vol::VolumeState& st, int pos) {
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<vol::SnapshotView> v, vol::SnapshotView::Open(env, dir, st, pos));
  Bytes b(st.size);
  DDL_RETURN_IF_ERROR(v->Read(0, b.data(), b.size()));
  return b;
}

}  // namespace ddl::test
