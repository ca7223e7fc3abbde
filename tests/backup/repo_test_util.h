// repo_test_util.h - what the repository tests share: a Transport over a
// map (not thread-safe: the tests push with one job) and a temporary
// directory removed at the end.
#pragma once

#include <stdlib.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "backup/transport.h"

namespace ddl::test {

// Objects in a map. before_create runs inside CreateSmall, before the
// name is tested: a test puts "another writer" there.
class MemTransport : public Transport {
 public:
  std::map<std::string, std::string> objects;
  std::map<std::string, uint64_t> tags;
  std::function<void(const std::string& key)> before_create;

  std::string Describe(const std::string& key) const override { return "mem://r/" + key; }
  Result<uint64_t> Size(const std::string& key) override {
    auto it = objects.find(key);
    if (it == objects.end()) return Status(Code::kNotFound, Describe(key) + ": no such object");
    return static_cast<uint64_t>(it->second.size());
  }
  Result<std::string> ReadSmall(const std::string& key) override {
    auto it = objects.find(key);
    if (it == objects.end()) return Status(Code::kNotFound, Describe(key) + ": no such object");
    if (it->second.size() > kMaxSmallObject) return Corruption(Describe(key) + ": too large");
    return it->second;
  }
  // The tag is a write counter, so every write changes it.
  Result<SmallRead> ReadSmallIfChanged(const std::string& key, const std::string& tag) override {
    auto it = objects.find(key);
    if (it == objects.end()) return Status(Code::kNotFound, Describe(key) + ": no such object");
    SmallRead r;
    r.tag = std::to_string(tags[key]);
    if (!tag.empty() && tag == r.tag) {
      r.changed = false;
      return r;
    }
    r.data = it->second;
    return r;
  }
  Status WriteSmall(const std::string& key, const std::string& data) override {
    tags[key]++;
    objects[key] = data;
    return Status::Ok();
  }
  Status CreateSmall(const std::string& key, const std::string& data) override {
    if (before_create) before_create(key);
    if (objects.count(key)) return Status(Code::kExists, Describe(key) + ": exists already");
    tags[key]++;
    objects[key] = data;
    return Status::Ok();
  }
  Status Upload(const std::string& key, File* src, uint64_t size, const NetOptions&, TransferStats* st) override {
    std::string data(size, '\0');
    DDL_RETURN_IF_ERROR(src->ReadExact(0, data.data(), size));
    objects[key] = data;
    st->bytes_transferred = size;
    return Status::Ok();
  }
  Status Download(const std::string& key, uint64_t size, File* dst, uint64_t have, const NetOptions&,
                  TransferStats* st) override {
    auto it = objects.find(key);
    if (it == objects.end()) return Status(Code::kNotFound, Describe(key) + ": no such object");
    if (it->second.size() > size) return Corruption(Describe(key) + ": larger than expected");
    if (have > it->second.size()) have = 0;
    st->resumed_from = have;
    st->bytes_transferred = it->second.size() - have;
    DDL_RETURN_IF_ERROR(dst->WriteAt(have, it->second.data() + have, it->second.size() - have));
    return dst->Truncate(it->second.size());
  }
  Result<std::vector<std::string>> List(const std::string& dir) override {
    std::vector<std::string> names;
    const std::string p = dir + "/";
    for (const auto& [k, v] : objects)
      if (k.compare(0, p.size(), p) == 0 && k.find('/', p.size()) == std::string::npos)
        names.push_back(k.substr(p.size()));
    if (names.empty()) return Status(Code::kNotFound, Describe(p) + ": no such directory");
    return names;
  }
  Status Remove(const std::string& key) override {
    objects.erase(key);
    return Status::Ok();
  }
};

struct TempDir {
  std::string path;
  TempDir() {
    char t[] = "/tmp/ddloop-repository-test.XXXXXX";
    path = mkdtemp(t);
  }
  ~TempDir() { (void)system(("rm -rf '" + path + "'").c_str()); }
};

}  // namespace ddl::test
