// sysv_msg: two System V message queues (msgget(2), sysvipc(7)), one per direction, created
// exclusively with mode 0600 under random keys and opened by the peer by key. A queue has no
// descriptor, so there is no `poll`: `block` waits in msgrcv/msgsnd, `busy` retries with
// IPC_NOWAIT. SysV queues vanish at IPC_RMID, so the owner removes them only at the end.
#pragma once
#include <string>
#include <vector>

#include "backends/backend.h"

namespace ipcb {
CreateChannelFn create_sysv_msg_channel;
OpenChannelFn open_sysv_msg_channel;
std::vector<std::string> sysv_msg_syncs();
std::string sysv_msg_size_limit(size_t message_bytes, size_t channels = 1, bool deep = false);
}  // namespace ipcb
