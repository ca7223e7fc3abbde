// chain.cc - CheckChangedChunksBase, ChainReader.
#include "deltafile/chain.h"

#include "deltafile/chain_order.h"

#include <algorithm>
#include <cstring>
#include <list>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

namespace ddl {

Status CheckChangedChunksBase(File* img, const RandomReader& rr) {
  const Header& h = rr.header();
  std::vector<ChunkHash> old;
  std::vector<uint8_t> chunk;
  for (size_t i = 0; i < rr.entries().size(); i++) {
    DDL_RETURN_IF_ERROR(rr.ReadRecordHashes(i, &old));
    uint64_t first = FirstChunkStarting(rr.entries()[i].offset, h.chunk_shift);
    for (size_t k = 0; k < old.size(); k++) {
      uint64_t idx = first + k;
      chunk.resize(h.chunk_len(idx));
      size_t got = 0;
      DDL_RETURN_IF_ERROR(img->ReadAt(idx << h.chunk_shift, chunk.data(), chunk.size(), &got));
      std::fill(chunk.begin() + got, chunk.end(), 0);
      if (HashChunk(chunk.data(), chunk.size()) != old[k])
        return Status(Code::kWrongBase, img->name() + ": chunk " + std::to_string(idx) + " is not what " +
                                            rr.file()->name() + " expects in its base");
    }
  }
  return Status::Ok();
}

// An LRU of decoded records, bounded in bytes. Thread-safe.
class ChainReader::Cache {
 public:
  explicit Cache(size_t capacity) : capacity_(capacity) {}
  using Value = std::shared_ptr<const std::vector<uint8_t>>;

  Value Get(uint64_t key) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = map_.find(key);
    if (it == map_.end()) {
      stats_.misses++;
      return nullptr;
    }
    stats_.hits++;
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->second;
  }

  void Put(uint64_t key, Value v) {
    std::lock_guard<std::mutex> l(mu_);
    if (map_.count(key) || v->size() > capacity_) return;
    lru_.emplace_front(key, v);
    map_[key] = lru_.begin();
    stats_.bytes += v->size();
    while (stats_.bytes > capacity_) {
      auto& back = lru_.back();
      stats_.bytes -= back.second->size();
      map_.erase(back.first);
      lru_.pop_back();
    }
  }

  bool MarkBad(uint64_t key) {  // true the first time
    std::lock_guard<std::mutex> l(mu_);
    return bad_.insert(key).second;
  }

  CacheStats stats() const {
    std::lock_guard<std::mutex> l(mu_);
    return stats_;
  }

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::list<std::pair<uint64_t, Value>> lru_;
  std::unordered_map<uint64_t, std::list<std::pair<uint64_t, Value>>::iterator> map_;
  std::set<uint64_t> bad_;
  CacheStats stats_;
};

ChainReader::~ChainReader() = default;

Result<std::unique_ptr<ChainReader>> ChainReader::Open(File* base, const std::vector<File*>& deltas,
                                                       const ChainOptions& o) {
  if (deltas.empty()) return InvalidArgument("no deltafile given");
  std::unique_ptr<ChainReader> c(new ChainReader);
  c->opts_ = o;
  std::vector<Header> hs;
  std::vector<std::string> names;
  for (File* f : deltas) {
    DDL_ASSIGN_OR_RETURN(std::unique_ptr<RandomReader> rr, RandomReader::Open(f));
    hs.push_back(rr->header());
    names.push_back(f->name());
    c->readers_.push_back(std::move(rr));
  }
  // Given in any order: put the readers in chain order.
  DDL_ASSIGN_OR_RETURN(ChainOrder ord, OrderChain(hs, names));
  std::vector<std::unique_ptr<RandomReader>> given = std::move(c->readers_);
  c->readers_.clear();
  std::vector<Header> ordered;
  std::vector<std::string> ordered_names;
  for (size_t i : ord.order) {
    c->readers_.push_back(std::move(given[i]));
    ordered.push_back(hs[i]);
    ordered_names.push_back(names[i]);
  }
  hs = std::move(ordered);
  names = std::move(ordered_names);
  c->order_ = ord.order;
  const Header& h0 = hs[0];
  c->size_ = h0.volume_size;
  if (h0.seed()) {
    if (base != nullptr)
      return InvalidArgument(names[0] + ": is a seed delta (its base is the zero volume); do not give a base image");
  } else {
    if (base == nullptr)
      return Status(Code::kWrongBase,
                    names[0] + ": needs its base image (--base); only a seed delta starts from nothing");
    DDL_ASSIGN_OR_RETURN(c->base_size_, base->Size());
    if (c->base_size_ != h0.volume_size)
      return Status(Code::kWrongBase, base->name() + ": size " + std::to_string(c->base_size_) +
                                          " bytes, but the chain is for a volume of " + std::to_string(h0.volume_size));
    DDL_RETURN_IF_ERROR(CheckChangedChunksBase(base, *c->readers_[0]));
    c->base_ = base;
  }

  // Merge: overlay each delta's records, in chain order, on an extent map.
  std::map<uint64_t, Extent> m;
  auto split = [&m](uint64_t at) {
    auto it = m.upper_bound(at);
    if (it == m.begin()) return;
    --it;
    Extent& e = it->second;
    if (e.start < at && at < e.end) {
      Extent right = e;
      right.start = at;
      e.end = at;
      m.emplace(at, right);
    }
  };
  for (uint32_t d = 0; d < c->readers_.size(); d++) {
    const auto& entries = c->readers_[d]->entries();
    if (entries.size() > UINT32_MAX)  // Extent::record is 32 bits
      return Unsupported(names[d] + ": " + std::to_string(entries.size()) + " records, more than a chain can map");
    for (uint32_t r = 0; r < entries.size(); r++) {
      const uint64_t a = entries[r].offset, b = a + entries[r].length;
      split(a);
      split(b);
      m.erase(m.lower_bound(a), m.lower_bound(b));
      m.emplace(a, Extent{a, b, d, r});
    }
  }
  c->ext_.reserve(m.size());
  for (auto& kv : m) c->ext_.push_back(kv.second);
  c->cache_ = std::make_unique<Cache>(o.cache_bytes);
  return c;
}

Status ChainReader::ReadRecordData(uint32_t delta, uint32_t record, std::shared_ptr<const std::vector<uint8_t>>* out) {
  const uint64_t key = (uint64_t(delta) << 40) | record;
  if ((*out = cache_->Get(key))) return Status::Ok();
  thread_local Decompressor dz;
  Record rec;
  Status s = readers_[delta]->ReadRecord(record, &rec, &dz);
  if (!s.ok()) {
    if (cache_->MarkBad(key) && opts_.log) opts_.log("read error: " + s.message());
    return s;
  }
  auto v = std::make_shared<const std::vector<uint8_t>>(std::move(rec.data));
  cache_->Put(key, v);
  *out = std::move(v);
  return Status::Ok();
}

Status ChainReader::Read(uint64_t off, void* buf, size_t n) {
  if (off >= size_) return Status::Ok();
  if (n > size_ - off) n = static_cast<size_t>(size_ - off);
  uint8_t* out = static_cast<uint8_t*>(buf);
  const uint64_t end = off + n;
  auto it = std::upper_bound(ext_.begin(), ext_.end(), off, [](uint64_t v, const Extent& e) { return v < e.end; });
  uint64_t pos = off;
  while (pos < end) {
    const uint64_t next = (it == ext_.end()) ? end : std::min(end, std::max(pos, it->start));
    if (pos < next) {  // a gap: the base, or zeros
      size_t len = static_cast<size_t>(next - pos), got = 0;
      if (base_) DDL_RETURN_IF_ERROR(base_->ReadAt(pos, out + (pos - off), len, &got));
      std::memset(out + (pos - off) + got, 0, len - got);
      pos = next;
      continue;
    }
    const Extent& e = *it;
    const uint64_t stop = std::min(end, e.end);
    const IndexEntry& ie = readers_[e.delta]->entries()[e.record];
    if (ie.type == DDL_REC_ZERO) {
      std::memset(out + (pos - off), 0, stop - pos);
    } else {
      std::shared_ptr<const std::vector<uint8_t>> data;
      DDL_RETURN_IF_ERROR(ReadRecordData(e.delta, e.record, &data));
      std::memcpy(out + (pos - off), data->data() + (pos - ie.offset), stop - pos);
    }
    pos = stop;
    ++it;
  }
  return Status::Ok();
}

ChainReader::CacheStats ChainReader::cache_stats() const { return cache_->stats(); }

}  // namespace ddl
