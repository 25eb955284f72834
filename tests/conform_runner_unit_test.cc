// The conformance runner's parts that decide without running anything: flag checking,
// GoogleTest's filter syntax, mechanism names, the built-in checklist and coverage counting,
// which broken precondition turns a FAIL into BROKEN, and JUnit XML.
#include <gtest/gtest.h>

#include "suites/conformance/runner_internal.h"

namespace ipcb::runner {
namespace {

TEST(RunnerFlags, KnownFlagsParseAndTyposAreRejected) {
  auto f = parse_gtest_flags({"--gtest_filter=A.*-A.B", "--gtest_repeat=3", "--gtest_shuffle",
                              "--gtest_random_seed=7", "--gtest_fail_fast=1",
                              "--gtest_output=xml:out/", "--gtest_break_on_failure=0"});
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_EQ(f->filter, "A.*-A.B");
  EXPECT_EQ(f->repeat, 3);
  EXPECT_TRUE(f->shuffle);
  EXPECT_EQ(f->random_seed, 7);
  EXPECT_TRUE(f->fail_fast);
  EXPECT_EQ(f->junit, "out/conformance.xml");
  EXPECT_EQ(f->passthrough, std::vector<std::string>{"--gtest_break_on_failure=0"});
  EXPECT_EQ(parse_gtest_flags({"--gtest_output=xml"})->junit, "test_detail.xml");
  for (const char* bad : {"--gtest_fliter=A", "--gtest_repeat", "--gtest_repeat=-1",
                          "--gtest_shuffle=yes", "--gtest_filter", "--gtest_output=json",
                          "--gtest_random_seed=100000", "--gtest_stream_result_to=h:1",
                          "--gtest_internal_run_death_test=x", "--gtest_help", "--gtest"}) {
    EXPECT_FALSE(parse_gtest_flags({bad})) << bad;
  }
}

TEST(RunnerFilter, FollowsGoogleTestsSyntax) {
  EXPECT_TRUE(filter_matches("*", "A.b"));
  EXPECT_TRUE(filter_matches("A.*", "A.b"));
  EXPECT_FALSE(filter_matches("A.*", "AB.b"));
  EXPECT_TRUE(filter_matches("X.*:A.?", "A.b"));
  EXPECT_FALSE(filter_matches("A.?", "A.bc"));
  EXPECT_TRUE(filter_matches("-B.*", "A.b"));  // an empty positive part means every test
  EXPECT_FALSE(filter_matches("-A.*", "A.b"));
  EXPECT_FALSE(filter_matches("A.*-*.b", "A.b"));
  EXPECT_TRUE(filter_matches("A.*-*.c:*.d", "A.b"));
  EXPECT_FALSE(filter_matches("", "A.b"));
  EXPECT_TRUE(filter_matches("Shared/*/posix_s*", "Shared/Removal.NameGone/posix_shm"));
  EXPECT_TRUE(filter_matches("*a*b*", "xxaxxbxx"));
  EXPECT_FALSE(filter_matches("*a*b", "xxaxxbxx"));
}

TEST(RunnerNames, MechanismFromSuiteOrParameter) {
  EXPECT_EQ(mechanism_of_suite("SysvShm"), "sysv_shm");
  EXPECT_EQ(mechanism_of_suite("PosixMqLimits"), "posix_mq");
  EXPECT_EQ(mechanism_of_suite("PthreadSync"), "pthread");
  EXPECT_EQ(mechanism_of_suite("UnixSeqpacket"), "unix_seqpacket");
  EXPECT_EQ(mechanism_of_suite("IpcNamespace"), "ipc_namespace");
  TestNames n = names_of("Shared/ExclusiveCreate", "FailsWithEexist/posix_mq", true);
  EXPECT_EQ(n.full, "Shared/ExclusiveCreate.FailsWithEexist/posix_mq");
  EXPECT_EQ(n.mechanism, "posix_mq");
  EXPECT_EQ(n.behaviour, "ExclusiveCreate.FailsWithEexist");
}

TEST(RunnerChecklist, BuiltInChecklistParses) {
  auto rows = parse_checklist(embedded_checklist());
  ASSERT_TRUE(rows) << rows.error().message();
  EXPECT_GE(rows->size(), 354u);
  EXPECT_EQ(rows->front().id, "S01");
  EXPECT_EQ(rows->front().mechanism, "sysv_shm");
}

TEST(RunnerChecklist, MalformedChecklistsAreRejected) {
  const std::string h = "id\tmechanism\tcall\tcondition\texpected\troot\tapplies\n";
  EXPECT_FALSE(parse_checklist("# only a comment\n"));
  EXPECT_FALSE(parse_checklist(h + "S01\tsysv_shm\tshmget\tc\te\tno\n"));
  EXPECT_FALSE(
      parse_checklist(h + "S01\tsysv_shm\tx\tc\te\tno\tyes\nS01\tsysv_shm\tx\tc\te\tno\tyes\n"));
  EXPECT_FALSE(parse_checklist(h + "S01\tsysv_shm\tx\tc\te\tno\tmaybe\n"));
  EXPECT_TRUE(parse_checklist(h + "S01\tsysv_shm\tx\tc\te\tno\tno: not on Linux\n"));
}

ConformOutcome outcome(const std::string& test, const std::string& verdict,
                       const std::string& rows) {
  ConformOutcome o;
  o.test = test;
  o.verdict = verdict;
  o.rows = rows;
  return o;
}

TEST(RunnerChecklist, CoverageCountsEachRowOnceByItsWorstVerdict) {
  const std::string tsv =
      "id\tmechanism\tcall\tcondition\texpected\troot\tapplies\n"
      "A1\ta\tx\tc\te\tno\tyes\nA2\ta\tx\tc\te\tno\tyes\nA3\ta\tx\tc\te\tno\tyes\n"
      "A4\ta\tx\tc\te\tno\tyes\nA5\ta\tx\tc\te\tno\tno: why\nB1\tb\tx\tc\te\tno\tyes\n";
  auto rows = parse_checklist(tsv);
  ASSERT_TRUE(rows);
  Coverage c = compute_coverage(
      *rows, {outcome("T.pass", "PASS", "A1 A2"), outcome("T.fail", "FAIL", "A2"),
              outcome("T.skip", "SKIP", "A3 A1"), outcome("T.broken", "BROKEN", "B1"),
              outcome("T.typo", "PASS", "A9")});
  ASSERT_EQ(c.mechanisms.size(), 2u);
  const MechanismCoverage& a = c.mechanisms[0];
  EXPECT_EQ(a.applicable, 4);
  EXPECT_EQ(a.covered, std::vector<std::string>{"A1"});
  EXPECT_EQ(a.failed, std::vector<std::string>{"A2"});
  EXPECT_EQ(a.skipped, std::vector<std::string>{"A3"});
  EXPECT_EQ(a.missing, std::vector<std::string>{"A4"});
  EXPECT_EQ(c.mechanisms[1].broken, std::vector<std::string>{"B1"});
  EXPECT_EQ(c.unknown, std::vector<std::string>{"T.typo: A9"});
  nlohmann::json j = coverage_json(c);
  EXPECT_EQ(j["applicable"], 5);
  EXPECT_EQ(j["covered"], 1);
  EXPECT_DOUBLE_EQ(j["mechanisms"]["a"]["coverage_percent"].get<double>(), 25.0);
}

TEST(RunnerPreconditions, ABrokenPreconditionExplainsOnlyItsMechanismsFailures) {
  std::vector<Precondition> pre = {{"dev_shm", "w", {"posix_shm", "posix_sem"}, "read-only"},
                                   {"dev_mqueue", "m", {}, "not mounted"},
                                   {"tmp", "t", {"*"}, ""}};
  EXPECT_EQ(breaker_for(pre, "posix_sem", "")->id, "dev_shm");
  EXPECT_EQ(breaker_for(pre, "sysv_shm", ""), nullptr);
  EXPECT_EQ(breaker_for(pre, "posix_mq", "dev_mqueue")->id, "dev_mqueue");
  EXPECT_EQ(breaker_for(pre, "posix_mq", "tmp"), nullptr);  // fine here
  pre[2].problem = "full";
  EXPECT_EQ(breaker_for(pre, "anything", "")->id, "tmp");
}

TEST(RunnerReport, JunitEscapesAndCounts) {
  ConformOutcome f = outcome("S.f", "FAIL", "");
  f.reason = "a <b> & \"c\"";
  f.failures = {"x.cc:1: a <b> & \"c\"\nline two", std::string("ctl\x01")};
  ConformOutcome b = outcome("S.b", "BROKEN", "");
  b.reason = "env";
  std::string x = junit_xml({outcome("S.p", "PASS", ""), f, b, outcome("T/U.s/v", "SKIP", "")});
  EXPECT_NE(x.find("<testsuites tests=\"4\" failures=\"1\" errors=\"1\" skipped=\"1\""),
            std::string::npos)
      << x;
  EXPECT_NE(x.find("message=\"a &lt;b&gt; &amp; &quot;c&quot;\""), std::string::npos) << x;
  EXPECT_NE(x.find("&quot;c&quot;\nline two"), std::string::npos) << x;
  EXPECT_NE(x.find("ctl\\x01"), std::string::npos) << x;
  EXPECT_NE(x.find("<testsuite name=\"T/U\""), std::string::npos) << x;
  EXPECT_NE(x.find("<testcase name=\"s/v\""), std::string::npos) << x;
  EXPECT_NE(x.find("<error message=\"env\" type=\"BROKEN\">"), std::string::npos) << x;
}

TEST(RunnerReport, ResultsRoundTripThroughJson) {
  ConformOutcome o = outcome("S.t", "BROKEN", "S01 S02");
  o.mechanism = "sysv_shm";
  o.precondition = "shm_rmid_forced";
  o.failures = {"one", "two"};
  ConformOutcome back = outcome_from_json(outcome_json(o));
  EXPECT_EQ(back.test, o.test);
  EXPECT_EQ(back.verdict, o.verdict);
  EXPECT_EQ(back.rows, o.rows);
  EXPECT_EQ(back.precondition, o.precondition);
  EXPECT_EQ(back.failures, o.failures);
  EXPECT_EQ(outcome_from_json({{"test", "old"}, {"result", "PASS"}}).verdict, "PASS");  // schema 1
}

}  // namespace
}  // namespace ipcb::runner
