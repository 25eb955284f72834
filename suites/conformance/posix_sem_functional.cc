// Conformance of POSIX semaphores in use (sem_overview(7)): the classic synchronisation
// problems built on them (producer/consumer and mutual exclusion across processes; readers and
// writers, dining philosophers and the sleeping barber among threads) finish without deadlock
// and with exact counts. Every wait gives up after 5 s, so a deadlock is a failure, not a hang.
#include <semaphore.h>
#include <time.h>

#include <atomic>
#include <cerrno>
#include <future>
#include <thread>
#include <vector>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"

namespace ipcb::conform {
namespace {

// P and V; down() is false if no unit came within 5 s.
bool down(sem_t* s) {
  timespec until = clock_in(CLOCK_REALTIME, 5000);
  int rc;
  while ((rc = ::sem_timedwait(s, &until)) != 0 && errno == EINTR) {
  }
  return rc == 0;
}
void up(sem_t* s) {
  ::sem_post(s);
}

// Producer/consumer: two producer processes put numbered items through a 4-slot buffer that the
// parent empties; every item arrives once, each producer's in order.
constexpr int kSlots = 4, kItems = 300;
struct BoundedBuffer {
  sem_t empty, full, mutex;
  int slot[kSlots];
  int in, out;
};

int produce(BoundedBuffer* b, int producer) {
  for (int i = 0; i < kItems; ++i) {
    if (!down(&b->empty) || !down(&b->mutex)) return 1;
    b->slot[b->in] = producer * 100000 + i;
    b->in = (b->in + 1) % kSlots;
    up(&b->mutex);
    up(&b->full);
  }
  return 0;
}

void producer_consumer() {
  SharedMemory<BoundedBuffer> shared;
  ASSERT_TRUE(shared.ok());
  BoundedBuffer* b = shared.get();
  ASSERT_EQ(::sem_init(&b->empty, 1, kSlots), 0);
  ASSERT_EQ(::sem_init(&b->full, 1, 0), 0);
  ASSERT_EQ(::sem_init(&b->mutex, 1, 1), 0);
  std::future<ChildResult> producers[2];
  for (int p = 0; p < 2; ++p) {
    producers[p] = std::async(
        std::launch::async, [b, p] { return run_in_child([b, p] { return produce(b, p + 1); }); });
  }
  int next[3] = {0, 0, 0}, taken = 0, misordered = 0;
  for (; taken < 2 * kItems; ++taken) {
    if (!down(&b->full) || !down(&b->mutex)) break;
    int v = b->slot[b->out];
    b->out = (b->out + 1) % kSlots;
    up(&b->mutex);
    up(&b->empty);
    int p = v / 100000;
    if (p < 1 || p > 2 || v % 100000 != next[p]++) ++misordered;
  }
  for (auto& f : producers) {
    ChildResult r = f.get();
    EXPECT_CHILD_OK(r) << " (a producer waited 5 s in vain)";
  }
  EXPECT_EQ(taken, 2 * kItems) << "the consumer waited 5 s in vain";
  EXPECT_EQ(misordered, 0);
  EXPECT_EQ(next[1], kItems);
  EXPECT_EQ(next[2], kItems);
}

// Mutual exclusion across processes: three processes increment one counter under a semaphore
// of value 1 with a read-modify-write that loses updates unless excluded.
constexpr int kIncrements = 1000;
struct Locked {
  sem_t lock;
  int counter;
};

int increment(Locked* l) {
  for (int i = 0; i < kIncrements; ++i) {
    if (!down(&l->lock)) return 1;
    volatile int* c = &l->counter;
    *c = *c + 1;
    up(&l->lock);
  }
  return 0;
}

void cross_process_locking() {
  SharedMemory<Locked> shared;
  ASSERT_TRUE(shared.ok());
  Locked* l = shared.get();
  ASSERT_EQ(::sem_init(&l->lock, 1, 1), 0);
  std::future<ChildResult> others[2];
  for (auto& f : others) {
    f = std::async(std::launch::async, [l] { return run_in_child([l] { return increment(l); }); });
  }
  EXPECT_EQ(increment(l), 0);
  for (auto& f : others) {
    ChildResult r = f.get();
    EXPECT_CHILD_OK(r);
  }
  EXPECT_EQ(l->counter, 3 * kIncrements);
}

// Readers and writers (readers first): no writer overlaps another writer or a reader.
void readers_writers() {
  sem_t rw, mutex;
  ASSERT_EQ(::sem_init(&rw, 0, 1), 0);
  ASSERT_EQ(::sem_init(&mutex, 0, 1), 0);
  int readers = 0, value = 0;
  std::atomic<int> reading{0}, writing{0}, violations{0}, failures{0};
  constexpr int kRounds = 300;
  auto reader = [&] {
    for (int i = 0; i < kRounds; ++i) {
      if (!down(&mutex)) return ++failures, void();
      if (++readers == 1 && !down(&rw)) return ++failures, void();
      up(&mutex);
      ++reading;
      if (writing.load() != 0) ++violations;
      --reading;
      if (!down(&mutex)) return ++failures, void();
      if (--readers == 0) up(&rw);
      up(&mutex);
    }
  };
  auto writer = [&] {
    for (int i = 0; i < kRounds; ++i) {
      if (!down(&rw)) return ++failures, void();
      if (writing++ != 0 || reading.load() != 0) ++violations;
      ++value;
      --writing;
      up(&rw);
    }
  };
  std::vector<std::thread> t;
  for (int i = 0; i < 3; ++i) t.emplace_back(reader);
  for (int i = 0; i < 2; ++i) t.emplace_back(writer);
  for (auto& th : t) th.join();
  ::sem_destroy(&rw);
  ::sem_destroy(&mutex);
  EXPECT_EQ(failures.load(), 0) << "a wait took 5 s: deadlock";
  EXPECT_EQ(violations.load(), 0);
  EXPECT_EQ(value, 2 * kRounds);
}

// Dining philosophers: five forks (value 1 each) and a room that seats four (so no deadlock);
// every philosopher eats as often as planned, never at the same time as a neighbour.
void dining_philosophers() {
  constexpr int kSeats = 5, kMeals = 100;
  sem_t fork[kSeats], room;
  for (auto& f : fork) ASSERT_EQ(::sem_init(&f, 0, 1), 0);
  ASSERT_EQ(::sem_init(&room, 0, kSeats - 1), 0);
  std::atomic<bool> eating[kSeats] = {};
  std::atomic<int> violations{0}, failures{0};
  int meals[kSeats] = {};
  std::vector<std::thread> t;
  for (int i = 0; i < kSeats; ++i) {
    t.emplace_back([&, i] {
      sem_t *left = &fork[i], *right = &fork[(i + 1) % kSeats];
      for (int m = 0; m < kMeals; ++m) {
        if (!down(&room)) return ++failures, void();
        if (!down(left)) return ++failures, void();
        if (!down(right)) return ++failures, void();
        eating[i] = true;
        if (eating[(i + 1) % kSeats] || eating[(i + kSeats - 1) % kSeats]) ++violations;
        ++meals[i];
        eating[i] = false;
        up(right);
        up(left);
        up(&room);
      }
    });
  }
  for (auto& th : t) th.join();
  for (auto& f : fork) ::sem_destroy(&f);
  ::sem_destroy(&room);
  EXPECT_EQ(failures.load(), 0) << "a wait took 5 s: deadlock";
  EXPECT_EQ(violations.load(), 0);
  for (int i = 0; i < kSeats; ++i) EXPECT_EQ(meals[i], kMeals) << "philosopher " << i;
}

// Sleeping barber: three chairs; a customer who finds them taken leaves. Every visit ends served
// or turned away, and the barber cut exactly the served customers' hair.
void sleeping_barber() {
  constexpr int kChairs = 3, kCustomers = 4, kVisits = 50;
  sem_t customers, barber, mutex;
  ASSERT_EQ(::sem_init(&customers, 0, 0), 0);
  ASSERT_EQ(::sem_init(&barber, 0, 0), 0);
  ASSERT_EQ(::sem_init(&mutex, 0, 1), 0);
  int waiting = 0, cuts = 0;
  bool closing = false;
  std::atomic<int> served{0}, turned_away{0}, failures{0};
  std::thread shop([&] {
    for (;;) {
      if (!down(&customers) || !down(&mutex)) return ++failures, void();
      if (closing && waiting == 0) return up(&mutex);
      --waiting;
      ++cuts;
      up(&barber);
      up(&mutex);
    }
  });
  std::vector<std::thread> t;
  for (int c = 0; c < kCustomers; ++c) {
    t.emplace_back([&] {
      for (int v = 0; v < kVisits; ++v) {
        if (!down(&mutex)) return ++failures, void();
        if (waiting == kChairs) {
          up(&mutex);
          ++turned_away;
          continue;
        }
        ++waiting;
        up(&customers);
        up(&mutex);
        if (!down(&barber)) return ++failures, void();
        ++served;
      }
    });
  }
  for (auto& th : t) th.join();
  if (down(&mutex)) {
    closing = true;
    up(&mutex);
  }
  up(&customers);  // wakes the barber to see the shop closing
  shop.join();
  for (sem_t* s : {&customers, &barber, &mutex}) ::sem_destroy(s);
  EXPECT_EQ(failures.load(), 0) << "a wait took 5 s: deadlock";
  EXPECT_EQ(served.load() + turned_away.load(), kCustomers * kVisits);
  EXPECT_EQ(cuts, served.load());
  EXPECT_GT(served.load(), 0);
}

// sem_overview(7): semaphores synchronise processes and threads: the classic problems finish
// without deadlock and with exact counts.
TEST(PosixSem, ClassicSynchronisationProblemsKeepExactCounts) {
  CONFORM_MAN("sem_overview(7)");
  CONFORM_ROWS("N30");
  {
    SCOPED_TRACE("producer/consumer across processes");
    producer_consumer();
  }
  {
    SCOPED_TRACE("locking across processes");
    cross_process_locking();
  }
  {
    SCOPED_TRACE("readers and writers");
    readers_writers();
  }
  {
    SCOPED_TRACE("dining philosophers");
    dining_philosophers();
  }
  {
    SCOPED_TRACE("sleeping barber");
    sleeping_barber();
  }
}

}  // namespace
}  // namespace ipcb::conform
