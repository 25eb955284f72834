// The argument vector a command-line parser of C heritage takes (Google Test's InitGoogleTest,
// Google Benchmark's Initialize): argc and a null-terminated argv over owned copies of the words.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace ipcb {

// `program` then `args` as argc / argv(). The parser may reorder or drop entries of argv (it
// removes the flags it took and lowers argc); the words themselves stay owned here.
class ArgVector {
 public:
  ArgVector(std::string program, const std::vector<std::string>& args)
      : words_{std::move(program)} {
    words_.insert(words_.end(), args.begin(), args.end());
    for (auto& w : words_) pointers_.push_back(w.data());
    argc = static_cast<int>(pointers_.size());
    pointers_.push_back(nullptr);
  }
  ArgVector(const ArgVector&) = delete;
  ArgVector& operator=(const ArgVector&) = delete;
  char** argv() { return pointers_.data(); }

  int argc;

 private:
  std::vector<std::string> words_;
  std::vector<char*> pointers_;
};

}  // namespace ipcb
