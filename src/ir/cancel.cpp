#include "ir/cancel.h"

#include <chrono>
#include <thread>

namespace rvj::detail {
void sleep_us(int us) { std::this_thread::sleep_for(std::chrono::microseconds(us)); }
}  // namespace rvj::detail
