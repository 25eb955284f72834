// Conformance of the process-shared attribute of pthread mutex and condition variable attribute
// objects (pthread_mutexattr_setpshared(3), pthread_condattr_setpshared(3p)): its default, its
// round trip, and invalid values.
#include <pthread.h>

#include <cerrno>
#include <cstring>

#include "suites/conformance/conform.h"

namespace ipcb::conform {
namespace {

// An initialised attribute object of type `A` (destroyed with the scope) and its process-shared
// calls, so that the mutex and the condition variable attribute calls go side by side.
template <class A, int (*Init)(A*), int (*Destroy)(A*), int (*Set)(A*, int),
          int (*Get)(const A*, int*)>
struct PsharedAttr {
  A a;
  PsharedAttr() { Init(&a); }
  ~PsharedAttr() { Destroy(&a); }
  PsharedAttr(const PsharedAttr&) = delete;
  PsharedAttr& operator=(const PsharedAttr&) = delete;
  int set(int v) { return Set(&a, v); }
  int get() {
    int v = -1;
    return Get(&a, &v) == 0 ? v : -1;
  }
};
using MutexAttr =
    PsharedAttr<pthread_mutexattr_t, pthread_mutexattr_init, pthread_mutexattr_destroy,
                pthread_mutexattr_setpshared, pthread_mutexattr_getpshared>;
using CondAttr = PsharedAttr<pthread_condattr_t, pthread_condattr_init, pthread_condattr_destroy,
                             pthread_condattr_setpshared, pthread_condattr_getpshared>;

// pthread_mutexattr_getpshared(3), pthread_condattr_getpshared(3p): a freshly initialised
// attribute object is PTHREAD_PROCESS_PRIVATE.
TEST(Pthread, FreshAttrIsProcessPrivate) {
  CONFORM_MAN("pthread_mutexattr_getpshared(3)");
  CONFORM_ROWS("T01");
  MutexAttr m;
  CondAttr c;
  EXPECT_EQ(m.get(), PTHREAD_PROCESS_PRIVATE);
  EXPECT_EQ(c.get(), PTHREAD_PROCESS_PRIVATE);
}

// pthread_mutexattr_setpshared(3), pthread_condattr_setpshared(3p): setting SHARED or PRIVATE
// returns 0, and get reads back what was set.
TEST(Pthread, SetpsharedReadsBack) {
  CONFORM_MAN("pthread_mutexattr_setpshared(3)");
  CONFORM_ROWS("T02");
  MutexAttr m;
  CondAttr c;
  for (int v : {PTHREAD_PROCESS_SHARED, PTHREAD_PROCESS_PRIVATE, PTHREAD_PROCESS_SHARED}) {
    EXPECT_EQ(m.set(v), 0);
    EXPECT_EQ(m.get(), v);
    EXPECT_EQ(c.set(v), 0);
    EXPECT_EQ(c.get(), v);
  }
}

// pthread_mutexattr_setpshared(3): EINVAL for a value other than PRIVATE or SHARED (POSIX: may);
// the attribute keeps its value. glibc detects it for both kinds of attribute object. An
// attribute object never initialised "may" give EINVAL: glibc does not detect one (it cannot
// tell garbage from a valid object) and either accepts it or says EINVAL, without crashing.
TEST(Pthread, SetpsharedInvalidValueFailsEinval) {
  CONFORM_MAN("pthread_mutexattr_setpshared(3)");
  CONFORM_ROWS("T03");
  MutexAttr m;
  CondAttr c;
  ASSERT_EQ(m.set(PTHREAD_PROCESS_SHARED), 0);
  ASSERT_EQ(c.set(PTHREAD_PROCESS_SHARED), 0);
  for (int bad : {-1, 2, 42}) {
    EXPECT_EQ(m.set(bad), EINVAL) << "mutexattr, value " << bad;
    EXPECT_EQ(c.set(bad), EINVAL) << "condattr, value " << bad;
  }
  EXPECT_EQ(m.get(), PTHREAD_PROCESS_SHARED);
  EXPECT_EQ(c.get(), PTHREAD_PROCESS_SHARED);
  ChildResult r = run_in_child([] {
    pthread_mutexattr_t ma;
    pthread_condattr_t ca;
    std::memset(&ma, 0xa5, sizeof ma);  // never initialised
    std::memset(&ca, 0xa5, sizeof ca);
    int rm = pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    int rc = pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
    return (rm == 0 || rm == EINVAL) && (rc == 0 || rc == EINVAL) ? 0 : 1;
  });
  EXPECT_CHILD_OK(r) << " (1: neither 0 nor EINVAL)";
}

}  // namespace
}  // namespace ipcb::conform
