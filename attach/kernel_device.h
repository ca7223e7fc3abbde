// kernel_device.h - the kernel driver's side of attach/detach/list: the
// ioctls of /dev/ddloop-control (kernel/ddloop_uapi.h).
#pragma once

#include <string>
#include <vector>

#include "deltafile/status.h"

namespace ddl::attach {

bool KernelDriverAvailable();  // /dev/ddloop-control exists

// Hands the base (may be empty) and the deltafiles to the driver; returns
// "/dev/ddloopN" once the node exists. The chain must be validated first.
Result<std::string> KernelAttach(const std::string& base, const std::vector<std::string>& deltas, uint64_t cache_bytes);
// Removes /dev/ddloopN; kIOError "busy" while something has it open.
Status KernelDetach(const std::string& dev);

struct KernelDeviceInfo {
  std::string dev;
  uint32_t ndeltas = 0;
  uint64_t size = 0, extents = 0, index_bytes = 0, cache_bytes = 0, io_errors = 0;
  uint32_t openers = 0;
};
// Every device the driver has now (empty without the driver).
std::vector<KernelDeviceInfo> KernelDevices();
bool IsKernelDevice(const std::string& dev);

}  // namespace ddl::attach
