// Tables of conformance cases run by one test body, the way LTP writes a test of one shape (a
// table of input, expected errno, run as whom). Each case still registers as its own GoogleTest
// test, under its own suite and name, with its own man page and checklist rows, so the runner,
// ctest and the report see one named result per behaviour, as with TEST().
//
//   struct ShmgetCase { CaseInfo info; size_t size; int flags; int err; };
//   void shmget_fails(const ShmgetCase& c) { ... EXPECT_EQ(..., c.err); }
//   const ShmgetCase kShmget[] = {{{"ExclusiveCreateOnExistingKeyFailsEexist", "shmget(2)"}, ...}};
//   CONFORM_CASES("SysvShm", kShmget, shmget_fails);
//
// Registration happens where CONFORM_CASES stands, in the file's order among its TEST()s.
#pragma once

#include <cstddef>

#include <gtest/gtest.h>

#include "suites/conformance/conform.h"

namespace ipcb::conform {

// What names a case: its test name, the man page (section) it checks, and the checklist rows it
// checks fully (nullptr: none, as a TEST() without CONFORM_ROWS).
struct CaseInfo {
  const char* name;
  const char* man;
  const char* rows = nullptr;
  // The case's own suite, for a table whose cases belong to several suites (the same behaviour
  // of UnixStream and UnixSeqpacket); nullptr: the suite CONFORM_CASES names.
  const char* suite = nullptr;
};

namespace detail {

// One registered case: records its properties, then runs the shared body on it.
template <class Case>
class CaseTest : public ::testing::Test {
 public:
  CaseTest(const Case* c, void (*body)(const Case&)) : c_(c), body_(body) {}
  void TestBody() override {
    CONFORM_MAN(c_->info.man);
    if (c_->info.rows != nullptr) CONFORM_ROWS(c_->info.rows);
    body_(*c_);
  }

 private:
  const Case* c_;
  void (*body_)(const Case&);
};

}  // namespace detail

// Registers every case of `cases` (a table with static storage: it must outlive the tests) as
// test `suite`.`case.info.name` (or `case.info.suite`.`case.info.name`), run by `body`. The factory
// returns a ::testing::Test*, so the cases share a suite with TEST()s of the same suite. Returns
// true (for a static initialiser).
template <class Case, size_t N>
bool register_cases(const char* suite, const Case (&cases)[N], void (*body)(const Case&),
                    const char* file, int line) {
  for (const Case& c : cases) {
    ::testing::RegisterTest(
        c.info.suite != nullptr ? c.info.suite : suite, c.info.name, nullptr, nullptr, file, line,
        [&c, body]() -> ::testing::Test* { return new detail::CaseTest<Case>(&c, body); });
  }
  return true;
}

}  // namespace ipcb::conform

#define CONFORM_CASES_CAT2(a, b) a##b
#define CONFORM_CASES_CAT(a, b) CONFORM_CASES_CAT2(a, b)
// Registers the table `cases` of `suite`, each case run by `body`, here (see register_cases).
#define CONFORM_CASES(suite, cases, body)                                              \
  [[maybe_unused]] const bool CONFORM_CASES_CAT(conform_cases_registered_, __LINE__) = \
      ::ipcb::conform::register_cases(suite, cases, body, __FILE__, __LINE__)
