// Every case PlanSync decides: up to date, an increment, going back to an
// older snapshot (the source reverted, or the base was pruned), a reseed,
// a fresh replica, a broken catalog.
#include "replica/chain_plan.h"

#include <gtest/gtest.h>

namespace ddl::replica {
namespace {

// Snapshot i: uuid from i, fingerprint with lane 0 = i.
Identity Id(int i) {
  Identity id;
  id.snapshot.b[0] = uint8_t(i);
  id.snapshot.b[15] = 0x42;
  id.fingerprint.lane[0] = uint64_t(i) * 0x9e3779b97f4a7c15ull;
  id.fingerprint.lane[1] = uint64_t(i);
  return id;
}

CatalogEntry Delta(int from, int to) {
  CatalogEntry e;
  e.name = (from < 0 ? "seed" : std::to_string(from)) + "-" + std::to_string(to) + ".ddl";
  e.seed = from < 0;
  if (from >= 0) {
    e.base_snapshot = Id(from).snapshot.ToString();
    e.base_fingerprint = Id(from).fingerprint.Hex();
  }
  e.target_snapshot = Id(to).snapshot.ToString();
  e.target_fingerprint = Id(to).fingerprint.Hex();
  return e;
}

std::vector<std::string> Names(const SyncPlan& p) {
  std::vector<std::string> n;
  for (const CatalogEntry& e : p.path) n.push_back(e.name);
  return n;
}

const std::vector<CatalogEntry> kLine = {Delta(-1, 1), Delta(1, 2), Delta(2, 3), Delta(3, 4)};

TEST(PlanSync, UpToDateWhenHeadIsHeld) {
  Result<SyncPlan> p = PlanSync(kLine, Id(4), "3-4.ddl", {Id(1), Id(2), Id(3), Id(4)}, "u");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_TRUE(p->up_to_date);
  EXPECT_EQ(p->base, 3);
  EXPECT_TRUE(p->path.empty());
}

TEST(PlanSync, IncrementFromTheNewest) {
  Result<SyncPlan> p = PlanSync(kLine, Id(4), "3-4.ddl", {Id(1), Id(2)}, "u");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_FALSE(p->up_to_date);
  EXPECT_EQ(p->base, 1);
  EXPECT_EQ(Names(*p), (std::vector<std::string>{"2-3.ddl", "3-4.ddl"}));
}

TEST(PlanSync, FreshReplicaStartsAtTheSeed) {
  Result<SyncPlan> p = PlanSync(kLine, Id(3), "2-3.ddl", {}, "u");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->base, -1);
  EXPECT_EQ(Names(*p), (std::vector<std::string>{"seed-1.ddl", "1-2.ddl", "2-3.ddl"}));
}

TEST(PlanSync, SourceWentBackToAnOlderSnapshot) {
  // The replica holds 1..4; the source reverted to 2 and published 5 from it.
  std::vector<CatalogEntry> all = kLine;
  all.push_back(Delta(2, 5));
  Result<SyncPlan> p = PlanSync(all, Id(5), "2-5.ddl", {Id(1), Id(2), Id(3), Id(4)}, "u");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->base, 1);  // goes back to 2
  EXPECT_EQ(Names(*p), (std::vector<std::string>{"2-5.ddl"}));
}

TEST(PlanSync, BasePrunedUpstreamFallsBackToACommonSnapshot) {
  // 3 was merged away upstream: 2->4 replaces 2->3 and 3->4; the replica is at 3.
  std::vector<CatalogEntry> all = {Delta(-1, 1), Delta(1, 2), Delta(2, 4), Delta(4, 5)};
  Result<SyncPlan> p = PlanSync(all, Id(5), "4-5.ddl", {Id(1), Id(2), Id(3)}, "u");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->base, 1);
  EXPECT_EQ(Names(*p), (std::vector<std::string>{"2-4.ddl", "4-5.ddl"}));
}

TEST(PlanSync, PrefersTheNewestCommonBase) {
  // Two ways to 4: from 1 and from 3; the replica holds both.
  std::vector<CatalogEntry> all = {Delta(-1, 1), Delta(1, 4), Delta(1, 3), Delta(3, 4)};
  Result<SyncPlan> p = PlanSync(all, Id(4), "1-4.ddl", {Id(1), Id(3)}, "u");
  ASSERT_TRUE(p.ok()) << p.status().message();
  ASSERT_EQ(p->path.size(), 1u);
  EXPECT_EQ(p->base, 0);  // 1-4 is HEAD's entry, and its base is held: either is valid, both are one step
}

TEST(PlanSync, NothingInCommonNeedsAReseed) {
  std::vector<CatalogEntry> all = {Delta(-1, 7), Delta(7, 8)};
  Result<SyncPlan> p = PlanSync(all, Id(8), "7-8.ddl", {Id(1), Id(2)}, "u");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kNeedsReseed);
  EXPECT_NE(p.status().message().find("needs a reseed"), std::string::npos);
}

TEST(PlanSync, MissingDeltaIsABrokenChain) {
  std::vector<CatalogEntry> all = {Delta(-1, 1), Delta(2, 3)};  // 1->2 removed by hand
  Result<SyncPlan> p = PlanSync(all, Id(3), "2-3.ddl", {Id(1)}, "u");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kBrokenChain);
}

TEST(PlanSync, CycleIsABrokenChainNotALoop) {
  std::vector<CatalogEntry> all = {Delta(2, 3), Delta(3, 2)};
  Result<SyncPlan> p = PlanSync(all, Id(3), "2-3.ddl", {Id(9)}, "u");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kBrokenChain);
}

}  // namespace
}  // namespace ddl::replica
