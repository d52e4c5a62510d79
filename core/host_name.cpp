// The host name, cached: gethostname() is a uname syscall each time.
#include "core/host_name.hpp"

#include <unistd.h>

namespace bouncegate {

const std::string& host_name() {
  static const std::string name = [] {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
    return std::string(host[0] ? host : "localhost");
  }();
  return name;
}

}  // namespace bouncegate
