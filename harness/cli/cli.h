// The command line: `ipcbench list | run | clean` (and the hidden `peer` mode).
#pragma once

namespace ipcb {
int cli_main(int argc, char** argv);
}
