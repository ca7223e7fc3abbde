// chain_order_test.cc - OrderChain: any permutation of a chain is ordered,
// and every way a set of deltas fails to be one chain is a one-line error
// naming the files.
#include "deltafile/chain_order.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

namespace ddl {
namespace {

Identity Id(int n) {
  Identity id;
  id.snapshot.b[0] = static_cast<uint8_t>(n);
  id.snapshot.b[15] = 0x5a;
  id.fingerprint.lane[0] = 1000 + n;
  return id;
}

Header Delta(int from, int to) {
  Header h;
  h.volume_uuid.b[0] = 7;
  h.volume_size = 1 << 20;
  if (from < 0) {
    h.flags |= DDL_HF_SEED;  // base: the zero identity
  } else {
    h.base = Id(from);
  }
  h.target = Id(to);
  return h;
}

struct Set {
  std::vector<Header> hs;
  std::vector<std::string> names;
  void Add(const std::string& name, const Header& h) {
    names.push_back(name);
    hs.push_back(h);
  }
};

// d1..d6: identity 0 -> 1 -> ... -> 6 (or a seed first).
Set Chain6(bool seed) {
  Set s;
  for (int i = 0; i < 6; i++) s.Add("d" + std::to_string(i + 1), Delta(seed && i == 0 ? -1 : i, i + 1));
  return s;
}

// The chain order of `perm` applied to `s`, as names.
std::vector<std::string> Ordered(const Set& s, const std::vector<size_t>& perm, const ChainOrderOptions& o = {}) {
  Set p;
  for (size_t i : perm) p.Add(s.names[i], s.hs[i]);
  auto r = OrderChain(p.hs, p.names, o);
  EXPECT_TRUE(r.ok()) << r.status().message();
  std::vector<std::string> out;
  if (r.ok())
    for (size_t i : r->order) out.push_back(p.names[i]);
  return out;
}

Status Fails(const Set& s, const ChainOrderOptions& o = {}) {
  auto r = OrderChain(s.hs, s.names, o);
  EXPECT_FALSE(r.ok());
  return r.ok() ? Status::Ok() : r.status();
}

bool Has(const Status& s, const std::string& part) { return s.message().find(part) != std::string::npos; }

TEST(ChainOrder, EveryPermutationOfSixGivesTheChain) {
  for (bool seed : {false, true}) {
    Set s = Chain6(seed);
    std::vector<size_t> perm(6);
    std::iota(perm.begin(), perm.end(), 0);
    int n = 0;
    do {
      ASSERT_EQ(Ordered(s, perm), s.names) << "permutation " << n;
      n++;
    } while (std::next_permutation(perm.begin(), perm.end()));
    EXPECT_EQ(n, 720);
  }
}

TEST(ChainOrder, StartInTheMiddle) {
  Set s = Chain6(true);
  std::vector<size_t> rev = {5, 4, 3, 2, 1, 0};
  ChainOrderOptions o;
  o.start = Id(3);  // the image holds d3's target
  Status st = Fails(s, o);
  EXPECT_EQ(st.code(), Code::kBrokenChain);
  EXPECT_TRUE(Has(st, "d1, d2, d3: already applied")) << st.message();
  o.allow_applied = true;
  auto r = OrderChain(s.hs, s.names, o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->applied, 3u);
  EXPECT_EQ(Ordered(s, rev, o), s.names);
  // At the chain's own base, or past its end.
  o.start = Id(0);  // the seed's base is zero, not Id(0)
  o.start = Identity();
  r = OrderChain(s.hs, s.names, o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->applied, 0u);
  o.start = Id(6);
  r = OrderChain(s.hs, s.names, o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->applied, 6u);
  // Nowhere on it.
  o.start = Id(42);
  st = Fails(s, o);
  EXPECT_EQ(st.code(), Code::kWrongBase);
  EXPECT_TRUE(Has(st, "never passes")) << st.message();
}

TEST(ChainOrder, Fork) {
  Set s = Chain6(false);
  s.Add("other", Delta(2, 9));
  Status st = Fails(s);
  EXPECT_EQ(st.code(), Code::kBrokenChain);
  EXPECT_TRUE(Has(st, "d3 and other: both continue from")) << st.message();
  EXPECT_TRUE(Has(st, "fork")) << st.message();
}

TEST(ChainOrder, Join) {
  Set s;
  s.Add("a", Delta(1, 3));
  s.Add("b", Delta(2, 3));
  s.Add("c", Delta(3, 4));
  Status st = Fails(s);
  EXPECT_EQ(st.code(), Code::kBrokenChain);
  EXPECT_TRUE(Has(st, "a and b: both lead to")) << st.message();
}

TEST(ChainOrder, Gap) {
  Set s = Chain6(true);
  s.hs.erase(s.hs.begin() + 3);  // no d4: 3 -> 4
  s.names.erase(s.names.begin() + 3);
  std::swap(s.hs[0], s.hs[4]);
  std::swap(s.names[0], s.names[4]);
  Status st = Fails(s);
  EXPECT_EQ(st.code(), Code::kBrokenChain);
  EXPECT_TRUE(Has(st, "gap")) << st.message();
  EXPECT_TRUE(Has(st, "d3: no delta given continues from its target " + Id(3).ToString())) << st.message();
  EXPECT_TRUE(Has(st, "d5 starts from " + Id(4).ToString())) << st.message();
}

TEST(ChainOrder, Cycle) {
  Set s;
  s.Add("a", Delta(1, 2));
  s.Add("c", Delta(3, 1));
  s.Add("b", Delta(2, 3));
  Status st = Fails(s);
  EXPECT_EQ(st.code(), Code::kBrokenChain);
  EXPECT_TRUE(Has(st, "form a cycle")) << st.message();
  // A chain plus a separate cycle.
  Set t = Chain6(true);
  t.Add("x", Delta(20, 21));
  t.Add("y", Delta(21, 20));
  st = Fails(t);
  EXPECT_TRUE(Has(st, "x, y: form a cycle apart from the chain that starts at d1")) << st.message();
}

TEST(ChainOrder, DuplicateNamesBoth) {
  Set s = Chain6(true);
  s.Add("d4-copy", s.hs[3]);
  Status st = Fails(s);
  EXPECT_EQ(st.code(), Code::kBrokenChain);
  EXPECT_TRUE(Has(st, "d4 and d4-copy: the same delta given twice")) << st.message();
}

TEST(ChainOrder, TwoVolumes) {
  Set s = Chain6(true);
  s.hs[4].volume_uuid.b[0] = 8;
  Status st = Fails(s);
  EXPECT_EQ(st.code(), Code::kBrokenChain);
  EXPECT_TRUE(Has(st, "d5: belongs to another volume than d1")) << st.message();
  s = Chain6(true);
  s.hs[2].chunk_shift = 12;
  EXPECT_TRUE(Has(Fails(s), "d3: belongs to another volume")) << "chunk size";
}

// A volume back at an earlier content: 1 -> 2 -> 1 -> 4. In chain order it
// is kept; shuffled, identity 1 starts two deltas and it is a fork.
TEST(ChainOrder, RevisitKeptInGivenOrderOnly) {
  Set s;
  s.Add("a", Delta(1, 2));
  s.Add("b", Delta(2, 1));
  s.Add("c", Delta(1, 4));
  auto r = OrderChain(s.hs, s.names);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->order, (std::vector<size_t>{0, 1, 2}));
  std::swap(s.hs[0], s.hs[2]);
  std::swap(s.names[0], s.names[2]);
  EXPECT_TRUE(Has(Fails(s), "fork"));
}

TEST(ChainOrder, OneDeltaAndNone) {
  Set s;
  s.Add("only", Delta(-1, 1));
  auto r = OrderChain(s.hs, s.names);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->order, std::vector<size_t>{0});
  EXPECT_FALSE(OrderChain({}, {}).ok());
}

}  // namespace
}  // namespace ddl
