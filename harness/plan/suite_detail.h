// What suite.cc, suite_overrides.cc and suite_expand.cc share: the names a suite may use and
// their checks. Not for other files.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "harness/sys/error.h"

namespace ipcb::suite_detail {

std::string join(const std::vector<std::string>& v);
std::vector<std::string> all_backends();
std::vector<std::string> all_workloads();
std::vector<std::string> all_syncs();
bool is_all(const std::vector<std::string>& v);  // the one name "all"
extern const std::vector<std::string> kModes;
extern const std::vector<std::string> kPlacements;  // what "all" means
// Every placement name a suite or --placement may use: kPlacements and the topology ones.
std::vector<std::string> placement_names();
bool contains(const std::vector<std::string>& v, const std::string& s);
// Checks every name against the known ones; "all" stays as it is.
Status check_names(const std::vector<std::string>& names, const std::vector<std::string>& known,
                   const char* what);
// Sizes and ranges ("64", "4K", "8..64M"), each once, in the order given.
Result<std::vector<size_t>> parse_sizes(const std::vector<std::string>& texts);

}  // namespace ipcb::suite_detail
