// disk_source.cc - the three DiskSource adapters.
#include "attach/disk_source.h"

#include "snapcore/snapshot_view.h"
#include "snapcore/volume.h"

namespace ddl::attach {

namespace {

Status ReadOnly() { return InvalidArgument("the disk is read-only"); }

class ChainSource : public DiskSource {
 public:
  ChainSource(ChainReader* chain, CowOverlay* cow) : chain_(chain), cow_(cow) {}
  uint64_t size() const override { return chain_->size(); }
  bool writable() const override { return cow_ != nullptr; }
  Status Read(uint64_t off, void* buf, size_t n) override {
    return cow_ ? cow_->Read(off, buf, n) : chain_->Read(off, buf, n);
  }
  Status Write(uint64_t off, const void* buf, size_t n) override {
    return cow_ ? cow_->Write(off, buf, n) : ReadOnly();
  }
  Status Flush() override { return cow_ ? cow_->Sync() : Status::Ok(); }
  Status Close() override { return Flush(); }

 private:
  ChainReader* chain_;
  CowOverlay* cow_;
};

class VolumeSource : public DiskSource {
 public:
  explicit VolumeSource(vol::Volume* v) : v_(v) {}
  uint64_t size() const override { return v_->size(); }
  bool writable() const override { return v_->writable(); }
  Status Read(uint64_t off, void* buf, size_t n) override { return v_->Read(off, buf, n); }
  Status Write(uint64_t off, const void* buf, size_t n) override { return v_->Write(off, buf, n); }
  Status Flush() override { return v_->Flush(); }
  Status Close() override { return v_->Close(); }

 private:
  vol::Volume* v_;
};

class SnapshotSource : public DiskSource {
 public:
  explicit SnapshotSource(vol::SnapshotView* s) : s_(s) {}
  uint64_t size() const override { return s_->size(); }
  bool writable() const override { return false; }
  Status Read(uint64_t off, void* buf, size_t n) override { return s_->Read(off, buf, n); }
  Status Write(uint64_t, const void*, size_t) override { return ReadOnly(); }
  Status Flush() override { return Status::Ok(); }
  Status Close() override { return Status::Ok(); }

 private:
  vol::SnapshotView* s_;
};

}  // namespace

std::unique_ptr<DiskSource> ChainDisk(ChainReader* chain, CowOverlay* cow) {
  return std::make_unique<ChainSource>(chain, cow);
}
std::unique_ptr<DiskSource> VolumeDisk(vol::Volume* v) { return std::make_unique<VolumeSource>(v); }
std::unique_ptr<DiskSource> SnapshotDisk(vol::SnapshotView* s) { return std::make_unique<SnapshotSource>(s); }

}  // namespace ddl::attach
